// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Parsers of user input (user/lib/parse.c): every accepted and refused form. */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "parse.h"

static void test_percent(void **state)
{
	static const struct { const char *in; uint32_t bp; } ok[] = {
		{ "0", 0 }, { "5", 500 }, { "5.5", 550 }, { "5.25", 525 }, { "0.01", 1 },
		{ "99.99", 9999 }, { "100", 10000 }, { "100.0", 10000 }, { "100.00", 10000 },
		{ "007", 700 },
	};
	static const char *const bad[] = {
		"", "101", "-1", "abc", "12.345", "100.01", "1e2", " 5", "5 ", "5%", ".5", "5.",
		"1000", "+5", "5..5", "0x10",
	};
	struct cb_err err;
	uint32_t bp;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(cb_parse_percent(ok[i].in, &bp, &err), 0);
		assert_int_equal(bp, ok[i].bp);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bp = 4242;
		assert_int_equal(cb_parse_percent(bad[i], &bp, &err), -1);
		assert_int_equal(bp, 4242);
		assert_true(strlen(err.msg) > 0);
	}
	assert_int_equal(cb_parse_percent(NULL, &bp, &err), -1);
}

static void test_percent_round_trip(void **state)
{
	struct cb_err err;
	char buf[16];
	uint32_t back;

	(void)state;
	for (uint32_t bp = 0; bp <= CB_WEIGHT_MAX; bp++) {
		cb_fmt_percent(bp, buf, sizeof(buf));
		assert_int_equal(cb_parse_percent(buf, &back, &err), 0);
		assert_int_equal(back, bp);
	}
}

static void test_addresses(void **state)
{
	static const char *const ok[] = { "10.96.0.10", "1.2.3.4", "fd00::1", "2001:db8::10" };
	static const char *const bad[] = {
		"", "10.96.0.300", "10.96.0", "10.96.0.1.2", "abc", "0.0.0.0", "255.255.255.255",
		"127.0.0.1", "224.0.0.1", "240.0.0.1", "::", "::1", "ff02::1", "::ffff:10.0.0.1",
		"10.0.0.1/8", "fd00::1%eth0",
	};
	struct cb_endpoint e;
	struct cb_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(cb_parse_addr(ok[i], &e, &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cb_parse_addr(bad[i], &e, &err), -1);
		assert_true(strlen(err.msg) > 0);
	}
	assert_int_equal(cb_parse_addr("fd00::1", &e, &err), 0);
	assert_int_equal(e.family, CB_AF_INET6);
	assert_int_equal(cb_parse_addr("10.0.0.1", &e, &err), 0);
	assert_int_equal(e.family, CB_AF_INET);
	assert_int_equal(e.addr.b[0], 10);
}

static void test_endpoints(void **state)
{
	static const struct { const char *in; uint16_t port; uint8_t family; } ok[] = {
		{ "10.0.1.1", 0, CB_AF_INET }, { "10.0.1.1:8080", 8080, CB_AF_INET },
		{ "[fd00::1]:443", 443, CB_AF_INET6 }, { "fd00::1", 0, CB_AF_INET6 },
		{ "[fd00::1]", 0, CB_AF_INET6 }, { "10.0.1.1:65535", 65535, CB_AF_INET },
	};
	static const char *const bad[] = {
		"", "10.0.1.1:", "10.0.1.1:0", "10.0.1.1:65536", "10.0.1.1:http", "[fd00::1]:",
		"[fd00::1", "[fd00::1]x", "[10.0.0.1]:80x", "host:80", "10.0.1.1:80:90",
	};
	struct cb_endpoint e;
	struct cb_err err;
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(cb_parse_endpoint(ok[i].in, &e, &err), 0);
		assert_int_equal(e.port, ok[i].port);
		assert_int_equal(e.family, ok[i].family);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cb_parse_endpoint(bad[i], &e, &err), -1);
	assert_int_equal(cb_parse_endpoint("[fd00::1]:443", &e, &err), 0);
	cb_fmt_endpoint(&e, buf, sizeof(buf));
	assert_string_equal(buf, "[fd00::1]:443");
	assert_int_equal(cb_parse_endpoint("10.0.1.1:80", &e, &err), 0);
	cb_fmt_endpoint(&e, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.1.1:80");
}

/* --metrics-addr: any address, even loopback or unspecified, but always a port. */
static void test_listen_addresses(void **state)
{
	static const struct { const char *in; uint16_t port; uint8_t family; } ok[] = {
		{ "127.0.0.1:9435", 9435, CB_AF_INET }, { "0.0.0.0:1", 1, CB_AF_INET },
		{ "[::1]:9435", 9435, CB_AF_INET6 }, { "[::]:80", 80, CB_AF_INET6 },
		{ "10.0.1.1:65535", 65535, CB_AF_INET },
	};
	static const char *const bad[] = {
		"", "127.0.0.1", "[::1]", "::1", "127.0.0.1:", "127.0.0.1:0", "localhost:9435",
		"[::1]:9435x", "127.0.0.1:99999",
	};
	struct cb_endpoint e;
	struct cb_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(cb_parse_listen(ok[i].in, &e, &err), 0);
		assert_int_equal(e.port, ok[i].port);
		assert_int_equal(e.family, ok[i].family);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cb_parse_listen(bad[i], &e, &err), -1);
	/* what a backend may not be, a listener may */
	assert_int_equal(cb_parse_endpoint("127.0.0.1:9435", &e, &err), -1);
}

static void test_ports(void **state)
{
	static const char *const bad[] = { "", "0", "65536", "70000", "-1", "8o", " 80", "99999999999" };
	struct cb_err err;
	uint16_t p;

	(void)state;
	assert_int_equal(cb_parse_port("1", &p, &err), 0);
	assert_int_equal(cb_parse_port("65535", &p, &err), 0);
	assert_int_equal(p, 65535);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cb_parse_port(bad[i], &p, &err), -1);
}

static void test_cidrs(void **state)
{
	static const struct { const char *in; unsigned int len; } ok[] = {
		{ "10.1.0.0/16", 16 }, { "0.0.0.0/0", 0 }, { "10.1.2.3/32", 32 },
		{ "fd00::/8", 8 }, { "fd00:1::/32", 32 }, { "::/0", 0 }, { "fd00::1/128", 128 },
	};
	static const char *const bad[] = {
		"", "10.1.0.0", "10.1.0.0/", "10.1.0.0/33", "fd00::/129", "10.1.0.1/16",
		"10.1.0.0/1a", "10.1.0.0/-1", "x/8", "10.1.0.0/16/2", "fd00::1/64",
	};
	struct cb_endpoint n;
	struct cb_err err;
	unsigned int len;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(cb_parse_cidr(ok[i].in, &n, &len, &err), 0);
		assert_int_equal(len, ok[i].len);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cb_parse_cidr(bad[i], &n, &len, &err), -1);
	assert_int_equal(cb_parse_cidr("10.1.0.1/16", &n, &len, &err), -1);
	assert_non_null(strstr(err.msg, "10.1.0.0/16"));   /* suggests the fix */
}

static void test_names_and_words(void **state)
{
	static const char *const ok[] = { "web", "checkout-v2", "a", "api.internal", "svc_1", "9lives" };
	static const char *const bad[] = { "", "-web", ".web", "bad name!", "a/b", "ü", "web\n" };
	char longname[80];
	struct cb_err err;
	unsigned int t;
	uint8_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(cb_parse_name(ok[i], &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cb_parse_name(bad[i], &err), -1);
	memset(longname, 'a', sizeof(longname));
	longname[CB_NAME_MAX] = 0;
	assert_int_equal(cb_parse_name(longname, &err), 0);
	longname[CB_NAME_MAX] = 'a';
	longname[CB_NAME_MAX + 1] = 0;
	assert_int_equal(cb_parse_name(longname, &err), -1);

	assert_int_equal(cb_parse_track("stable", &t, &err), 0);
	assert_int_equal(t, CB_TRACK_STABLE);
	assert_int_equal(cb_parse_track("canary", &t, &err), 0);
	assert_int_equal(t, CB_TRACK_CANARY);
	assert_int_equal(cb_parse_track("blue", &t, &err), -1);
	assert_int_equal(cb_parse_track("Stable", &t, &err), -1);
	assert_int_equal(cb_parse_proto("udp", &v, &err), 0);
	assert_int_equal(v, IPPROTO_UDP);
	assert_int_equal(cb_parse_proto("sctp", &v, &err), -1);
	assert_int_equal(cb_parse_affinity("client", &v, &err), 0);
	assert_int_equal(v, CB_AFFINITY_CLIENT);
	assert_int_equal(cb_parse_affinity("source", &v, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percent),
		cmocka_unit_test(test_percent_round_trip),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_listen_addresses),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_cidrs),
		cmocka_unit_test(test_names_and_words),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
