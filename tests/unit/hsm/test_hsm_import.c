#include "tests/support/testutil.h"
int main(void){static const testutil_case_t c[]={{NULL,NULL}};return testutil_run("x",c);}
