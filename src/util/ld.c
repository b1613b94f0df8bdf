/* Long double arithmetic for INCRBYFLOAT, in C because Rust has no long double:
 * the sum must be computed and printed exactly as Redis does on this platform
 * (strtold, +, "%.17Lf" with trailing zeros removed). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a and b are NUL-terminated numbers the caller has already validated.
 * Returns the length of the text written to out, -1 if a or b does not parse,
 * -2 if the sum is NaN or infinite, 0 if out is too small. */
int ferrodis_ld_add(const char *a, const char *b, char *out, int outlen) {
    char *end;
    long double x, y, v;
    int l;

    errno = 0;
    x = strtold(a, &end);
    if (*end != '\0' || errno == ERANGE || isnan(x)) return -1;
    errno = 0;
    y = strtold(b, &end);
    if (*end != '\0' || errno == ERANGE || isnan(y)) return -1;
    v = x + y;
    if (isnan(v) || isinf(v)) return -2;
    l = snprintf(out, (size_t)outlen, "%.17Lf", v);
    if (l < 0 || l + 1 > outlen) return 0;
    if (strchr(out, '.') != NULL) {
        while (l > 0 && out[l - 1] == '0') l--;
        if (l > 0 && out[l - 1] == '.') l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') {
        out[0] = '0';
        l = 1;
    }
    out[l] = '\0';
    return l;
}
