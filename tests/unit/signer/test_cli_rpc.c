#include "signer/cli/cli_rpc.h"

#include <stdlib.h>
#include <string.h>

#include "tests/support/testutil.h"

static void test_cli_rpc_parse_duration_units_and_limits(void)
{
	static const struct {
		const char *s;
		bool ok;
		uint32_t want;
	} cases[] = {
	        {"0", true, 0},           {"30", true, 30},
	        {"30s", true, 30},        {"5m", true, 300},
	        {"12h", true, 43200},     {"14d", true, 1209600},
	        {"2w", true, 1209600},    {"2147483647", true, 2147483647u},
	        {"2147483648", false, 0}, {"4000w", false, 0},
	        {"", false, 0},           {"-1", false, 0},
	        {"+1", false, 0},         {" 1", false, 0},
	        {"1x", false, 0},         {"1dd", false, 0},
	        {"d", false, 0},          {"99999999999999999999999", false, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t v = 777;
		CU_ASSERT_EQUAL(cli_rpc_parse_duration(cases[i].s, &v), cases[i].ok);
		CU_ASSERT_EQUAL(v, cases[i].ok ? cases[i].want : 777);
	}
}

static void test_cli_rpc_parse_offset_takes_a_sign(void)
{
	int64_t v = 5;
	CU_ASSERT_TRUE(cli_rpc_parse_offset("-3d", &v));
	CU_ASSERT_EQUAL(v, -259200);
	CU_ASSERT_TRUE(cli_rpc_parse_offset("+90m", &v));
	CU_ASSERT_EQUAL(v, 5400);
	CU_ASSERT_TRUE(cli_rpc_parse_offset("0", &v));
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_TRUE(cli_rpc_parse_offset("4294967296", &v));
	CU_ASSERT_EQUAL(v, INT64_C(4294967296));
	v = 5;
	CU_ASSERT_FALSE(cli_rpc_parse_offset("4294967297", &v));
	CU_ASSERT_FALSE(cli_rpc_parse_offset("--1", &v));
	CU_ASSERT_FALSE(cli_rpc_parse_offset("-", &v));
	CU_ASSERT_FALSE(cli_rpc_parse_offset("1y", &v));
	CU_ASSERT_EQUAL(v, 5);
}

static void test_cli_rpc_duration_and_time_strings(void)
{
	char buf[32];
	cli_rpc_duration_str(1209600, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "14d");
	cli_rpc_duration_str(5400, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "90m");
	cli_rpc_duration_str(3600, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "1h");
	cli_rpc_duration_str(61, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "61s");
	cli_rpc_duration_str(0, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "0s");
	cli_rpc_time_str(1705320000, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "2024-01-15T12:00:00Z");
	cli_rpc_time_str(0, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "-");
}

/* The text of a FILE* written by fn, as a new string. */
static char *capture(void (*fn)(FILE *f, const void *arg), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fn(f, arg);
	fclose(f);
	return buf;
}

static void write_string(FILE *f, const void *arg)
{
	cli_json_string(f, arg);
}

static void test_cli_json_string_escapes(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	        {"plain", "\"plain\""},
	        {"", "\"\""},
	        {"a\"b\\c", "\"a\\\"b\\\\c\""},
	        {"l1\nl2\tx\r", "\"l1\\nl2\\tx\\r\""},
	        {"\x01\x1f", "\"\\u0001\\u001f\""},
	        {"caf\xc3\xa9", "\"caf\xc3\xa9\""},           /* valid UTF-8 kept */
	        {"\xe2\x82\xac", "\"\xe2\x82\xac\""},         /* euro sign */
	        {"\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""}, /* 4 bytes */
	        {"a\xff"
	         "b",
	         "\"a\\ufffdb\""},                             /* never valid */
	        {"\xc3", "\"\\ufffd\""},                       /* truncated */
	        {"\xc0\xaf", "\"\\ufffd\\ufffd\""},            /* overlong */
	        {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""}, /* surrogate */
	        {"x\\# 2 abcd", "\"x\\\\# 2 abcd\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = capture(write_string, cases[i].in);
		CU_ASSERT_STRING_EQUAL(got, cases[i].want);
		free(got);
	}
}

static void write_object(FILE *f, const void *arg)
{
	(void)arg;
	cli_json_t j;
	cli_json_begin(&j, f);
	cli_json_str(&j, "zone", "example.");
	cli_json_uint(&j, "serial", 4294967295u);
	cli_json_int(&j, "offset", -5);
	cli_json_bool(&j, "healthy", false);
	cli_json_time(&j, "at", 0);
	cli_json_time(&j, "published_at", 1705320000);
	cli_json_arr(&j, "keys");
	cli_json_obj(&j, NULL);
	cli_json_str(&j, "role", "KSK");
	cli_json_arr(&j, "zones");
	cli_json_str(&j, NULL, "a");
	cli_json_str(&j, NULL, "b");
	cli_json_close(&j);
	cli_json_close(&j);
	cli_json_obj(&j, NULL);
	cli_json_close(&j);
	cli_json_close(&j);
	cli_json_arr(&j, "empty");
	cli_json_end(&j); /* closes what is open */
}

static void test_cli_json_object_nests_on_one_line(void)
{
	char *got = capture(write_object, NULL);
	CU_ASSERT_STRING_EQUAL(got, "{\"zone\":\"example.\",\"serial\":4294967295,\"offset\":-5,"
	                            "\"healthy\":false,\"at\":null,"
	                            "\"published_at\":\"2024-01-15T12:00:00Z\","
	                            "\"keys\":[{\"role\":\"KSK\",\"zones\":[\"a\",\"b\"]},{}],"
	                            "\"empty\":[]}\n");
	free(got);
}

/* Splits text as a sender would; checks every chunk and that they add up. */
static size_t split_all(const char *text, size_t max, size_t *starts, size_t cap)
{
	size_t len = strlen(text), off = 0, n = 0;
	while (off < len) {
		size_t c = cli_rpc_text_chunk(text + off, len - off, max);
		CU_ASSERT_FATAL(c > 0 && c <= len - off);
		if (n < cap) {
			starts[n] = off;
		}
		n++;
		off += c;
	}
	CU_ASSERT_EQUAL(off, len);
	return n;
}

static void test_cli_rpc_text_chunk_splits_between_records(void)
{
	size_t s[16];
	/* Fits: one chunk, whatever it holds. */
	CU_ASSERT_EQUAL(cli_rpc_text_chunk("a (\nb", 6, 6), 6);
	/* Lines of 4 bytes, max 10: two lines per chunk. */
	CU_ASSERT_EQUAL(split_all("a 1\nb 2\nc 3\nd 4\ne 5\n", 10, s, 16), 3);
	CU_ASSERT_EQUAL(s[1], 8);
	CU_ASSERT_EQUAL(s[2], 16);
	/* Never inside parentheses, even past max. */
	const char *paren = "x (\n1\n2\n3 )\ny 1\n";
	CU_ASSERT_EQUAL(split_all(paren, 4, s, 16), 2);
	CU_ASSERT_EQUAL(s[1], strlen("x (\n1\n2\n3 )\n"));
	/* Parentheses in quotes, comments and escapes do not count. */
	const char *tricky = "a \"(\" ; (\nb \\( x\nc ( ; )\n)\nd\n";
	CU_ASSERT_EQUAL(split_all(tricky, 2, s, 16), 4);
	CU_ASSERT_EQUAL(s[1], strlen("a \"(\" ; (\n"));
	CU_ASSERT_EQUAL(s[2], strlen("a \"(\" ; (\nb \\( x\n"));
	CU_ASSERT_EQUAL(s[3], strlen("a \"(\" ; (\nb \\( x\nc ( ; )\n)\n"));
	/* No newline at all: one chunk. */
	CU_ASSERT_EQUAL(cli_rpc_text_chunk("abcdefgh", 8, 3), 8);
	/* A last line without a newline goes with the rest. */
	CU_ASSERT_EQUAL(split_all("aa\nbb\ncc", 4, s, 16), 3);
	CU_ASSERT_EQUAL(s[2], 6);
}

int main(void)
{
	static const testutil_case_t cases[] = {
	        {"cli_rpc_parse_duration_units_and_limits",
	         test_cli_rpc_parse_duration_units_and_limits},
	        {"cli_rpc_parse_offset_takes_a_sign", test_cli_rpc_parse_offset_takes_a_sign},
	        {"cli_rpc_duration_and_time_strings", test_cli_rpc_duration_and_time_strings},
	        {"cli_json_string_escapes", test_cli_json_string_escapes},
	        {"cli_json_object_nests_on_one_line", test_cli_json_object_nests_on_one_line},
	        {"cli_rpc_text_chunk_splits_between_records",
	         test_cli_rpc_text_chunk_splits_between_records},
	        {NULL, NULL},
	};
	return testutil_run("cli_rpc", cases);
}
