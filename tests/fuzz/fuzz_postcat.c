/*
 * fuzz_postcat.c - fuzz target for the postcat output parser
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "postcat.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct og_postcat pc;

	(void)og_postcat_parse((const char *)data, size, &pc);
	if (pc.sender != NULL && strlen(pc.sender) > OG_POSTCAT_VALUE_MAX)
		__builtin_trap();
	og_postcat_clear(&pc);
	return 0;
}
