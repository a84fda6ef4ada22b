#include "signer/zone/zone_serial.h"

#include "tests/support/testutil.h"

/* 2024-01-15 12:00:00 UTC. */
#define JAN15 ((time_t)1705320000)

static void test_zone_serial_gt_follows_rfc1982(void)
{
	static const struct {
		uint32_t a, b;
		bool gt;
	} cases[] = {
	        {1, 0, true},
	        {0, 1, false},
	        {5, 5, false},
	        {0, 0xffffffffu, true}, /* wraps */
	        {0xffffffffu, 0, false},
	        {0x7fffffffu, 0, true},
	        {0x80000000u, 0, false}, /* 2^31 apart: undefined, never greater */
	        {0, 0x80000000u, false},
	        {0x80000001u, 1, false},
	        {100, 0x80000065u, true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(zone_serial_gt(cases[i].a, cases[i].b), cases[i].gt);
	}
	CU_ASSERT_EQUAL(zone_serial_add(0xffffffffu, 1), 0);
	CU_ASSERT_EQUAL(zone_serial_add(10, 5), 15);
}

static void test_zone_serial_next_table(void)
{
	static const struct {
		zone_serial_policy_t policy;
		uint32_t current;
		bool have_previous;
		uint32_t previous;
		time_t now;
		uint32_t want;
		bool overridden;
	} cases[] = {
	        /* keep */
	        {ZONE_SERIAL_KEEP, 42, false, 0, JAN15, 42, false},
	        {ZONE_SERIAL_KEEP, 42, true, 41, JAN15, 42, false},
	        {ZONE_SERIAL_KEEP, 42, true, 42, JAN15, 43, true},
	        {ZONE_SERIAL_KEEP, 42, true, 50, JAN15, 51, true},
	        {ZONE_SERIAL_KEEP, 5, true, 0xffffffffu, JAN15, 5, false}, /* 5 follows 2^32-1 */
	        {ZONE_SERIAL_KEEP, 0x80000000u, true, 0, JAN15, 1, true},  /* undefined: bumped */
	        /* increment */
	        {ZONE_SERIAL_INCREMENT, 42, false, 0, JAN15, 43, false},
	        {ZONE_SERIAL_INCREMENT, 3, true, 5, JAN15, 6, false},
	        {ZONE_SERIAL_INCREMENT, 10, true, 5, JAN15, 10, false}, /* input ahead: taken */
	        {ZONE_SERIAL_INCREMENT, 0xffffffffu, false, 0, JAN15, 0, false},
	        {ZONE_SERIAL_INCREMENT, 7, true, 0xffffffffu, JAN15, 7, false},
	        {ZONE_SERIAL_INCREMENT, 0xfffffff0u, true, 0xffffffffu, JAN15, 0, false},
	        /* unixtime */
	        {ZONE_SERIAL_UNIXTIME, 1, false, 0, JAN15, 1705320000u, false},
	        {ZONE_SERIAL_UNIXTIME, 1, true, 1600000000u, JAN15, 1705320000u, false},
	        {ZONE_SERIAL_UNIXTIME, 1, true, 1705320000u, JAN15, 1705320001u, true},
	        {ZONE_SERIAL_UNIXTIME, 1, true, 1705329999u, JAN15, 1705330000u, true},
	        /* datecounter */
	        {ZONE_SERIAL_DATECOUNTER, 1, false, 0, JAN15, 2024011500u, false},
	        {ZONE_SERIAL_DATECOUNTER, 1, true, 2024011400u, JAN15, 2024011500u, false},
	        {ZONE_SERIAL_DATECOUNTER, 1, true, 2024011500u, JAN15, 2024011501u, false},
	        {ZONE_SERIAL_DATECOUNTER, 1, true, 2024011598u, JAN15, 2024011599u, false},
	        {ZONE_SERIAL_DATECOUNTER, 1, true, 2024011599u, JAN15, 2024011600u, true},
	        {ZONE_SERIAL_DATECOUNTER, 1, true, 2025010100u, JAN15, 2025010101u, true},
	        {ZONE_SERIAL_DATECOUNTER, 2024011577u, false, 0, JAN15, 2024011500u, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool overridden = !cases[i].overridden;
		uint32_t got =
		        zone_serial_next(cases[i].policy, cases[i].current, cases[i].have_previous,
		                         cases[i].previous, cases[i].now, &overridden);
		CU_ASSERT_EQUAL(got, cases[i].want);
		CU_ASSERT_EQUAL(overridden, cases[i].overridden);
		if (got != cases[i].want || overridden != cases[i].overridden) {
			fprintf(stderr, "case %zu: got %lu (overridden %d), want %lu (%d)\n", i,
			        (unsigned long)got, overridden, (unsigned long)cases[i].want,
			        cases[i].overridden);
		}
		if (cases[i].have_previous) {
			CU_ASSERT_TRUE(zone_serial_gt(got, cases[i].previous));
		}
	}
	/* overridden is optional. */
	CU_ASSERT_EQUAL(zone_serial_next(ZONE_SERIAL_KEEP, 1, true, 1, JAN15, NULL), 2);
}

static void test_zone_serial_policy_names(void)
{
	zone_serial_policy_t p = ZONE_SERIAL_UNIXTIME;
	CU_ASSERT_TRUE(zone_serial_policy_from_str("keep", &p));
	CU_ASSERT_EQUAL(p, ZONE_SERIAL_KEEP);
	CU_ASSERT_TRUE(zone_serial_policy_from_str("INCREMENT", &p));
	CU_ASSERT_EQUAL(p, ZONE_SERIAL_INCREMENT);
	CU_ASSERT_TRUE(zone_serial_policy_from_str("counter", &p));
	CU_ASSERT_EQUAL(p, ZONE_SERIAL_INCREMENT);
	CU_ASSERT_TRUE(zone_serial_policy_from_str("unixtime", &p));
	CU_ASSERT_EQUAL(p, ZONE_SERIAL_UNIXTIME);
	CU_ASSERT_TRUE(zone_serial_policy_from_str("DateCounter", &p));
	CU_ASSERT_EQUAL(p, ZONE_SERIAL_DATECOUNTER);
	/* Unknown names leave the output alone. */
	CU_ASSERT_FALSE(zone_serial_policy_from_str("date", &p));
	CU_ASSERT_FALSE(zone_serial_policy_from_str("", &p));
	CU_ASSERT_FALSE(zone_serial_policy_from_str(NULL, &p));
	CU_ASSERT_EQUAL(p, ZONE_SERIAL_DATECOUNTER);
	CU_ASSERT_STRING_EQUAL(zone_serial_policy_str(ZONE_SERIAL_KEEP), "keep");
	CU_ASSERT_STRING_EQUAL(zone_serial_policy_str(ZONE_SERIAL_DATECOUNTER), "datecounter");
	CU_ASSERT_STRING_EQUAL(zone_serial_policy_str((zone_serial_policy_t)99), "unknown");
}

int main(void)
{
	static const testutil_case_t cases[] = {
	        {"zone_serial_gt_follows_rfc1982", test_zone_serial_gt_follows_rfc1982},
	        {"zone_serial_next_table", test_zone_serial_next_table},
	        {"zone_serial_policy_names", test_zone_serial_policy_names},
	        {NULL, NULL},
	};
	return testutil_run("zone_serial", cases);
}
