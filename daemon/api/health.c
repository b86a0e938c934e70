// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* health.c - the checks of `health` and their thresholds. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "health.h"

const char *health_status_name(enum health_status status)
{
	static const char *const names[] = { "ok", "warning", "critical" };

	return (unsigned int)status < 3 ? names[status] : "unknown";
}

__attribute__((format(printf, 4, 5))) static void add(struct health_report *r,
						      const char *name,
						      enum health_status status,
						      const char *fmt, ...)
{
	struct health_check *c = &r->checks[r->n++];
	va_list ap;

	c->name = name;
	c->status = status;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	if (status > r->worst)
		r->worst = status;
}

static void check_hooks(const struct att_set *hooks, struct health_report *r)
{
	char missing[256] = "";
	size_t used = 0;
	int i, on = 0;

	if (hooks->n == 0) {
		add(r, "attachments", HEALTH_WARNING, "%s",
		    "no interface configured or found");
		return;
	}
	for (i = 0; i < hooks->n; i++) {
		const struct attachment *a = &hooks->att[i];

		if (a->mode != MODE_NONE && attach_verify(a))
			on++;
		else if (used < sizeof(missing))
			used += (size_t)snprintf(missing + used,
						 sizeof(missing) - used,
						 " %s/%s", a->ifname,
						 att_dir_name(a->direction));
	}
	add(r, "attachments", on == hooks->n ? HEALTH_OK : HEALTH_CRITICAL,
	    "%d of %d hooks attached%s%s", on, hooks->n,
	    on < hooks->n ? "; missing:" : "", missing);
}

static void check_map(const struct maps *m, struct health_report *r)
{
	uint64_t entries = 0, cap = m->capacity;
	enum health_status st;
	double pct;
	int err;

	err = maps_count(m, &entries, NULL);
	add(r, "map_readable", err ? HEALTH_CRITICAL : HEALTH_OK, "%s",
	    err ? "cannot read the connection map" :
		  "the connection map reads");
	pct = cap ? 100.0 * (double)entries / (double)cap : 0;
	st = pct >= HEALTH_USAGE_CRITICAL_PCT ? HEALTH_CRITICAL :
	     pct >= HEALTH_USAGE_WARNING_PCT  ? HEALTH_WARNING :
						HEALTH_OK;
	add(r, "map_usage", st,
	    "%llu of %llu entries (%.1f%%; warning at %d%%, critical at %d%%)",
	    (unsigned long long)entries, (unsigned long long)cap, pct,
	    HEALTH_USAGE_WARNING_PCT, HEALTH_USAGE_CRITICAL_PCT);
}

static void check_inserts(struct health *h, const struct maps *m,
			  struct health_report *r)
{
	struct tcplog_dp_stats st;
	uint64_t failed, delta;

	maps_stats(m, &st);
	failed = st.count[TCPLOG_STAT_INSERT_FULL] +
		 st.count[TCPLOG_STAT_INSERT_OTHER];
	/* A reset can make the total smaller: count from there. */
	delta = failed >= h->failed_seen ? failed - h->failed_seen : failed;
	h->failed_seen = failed;
	add(r, "insert_failures", delta ? HEALTH_WARNING : HEALTH_OK,
	    "%llu failed inserts since the previous check (%llu map full, "
	    "%llu other, in all)",
	    (unsigned long long)delta,
	    (unsigned long long)st.count[TCPLOG_STAT_INSERT_FULL],
	    (unsigned long long)st.count[TCPLOG_STAT_INSERT_OTHER]);
}

void health_check(struct health *h, const struct att_set *hooks,
		  const struct maps *m, struct health_report *out)
{
	memset(out, 0, sizeof(*out));
	check_hooks(hooks, out);
	check_map(m, out);
	check_inserts(h, m, out);
}
