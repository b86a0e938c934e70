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

static uint64_t failed_total(const struct maps *m, struct tcplog_dp_stats *st)
{
	maps_stats(m, st);
	return st->count[TCPLOG_STAT_INSERT_FULL] +
	       st->count[TCPLOG_STAT_INSERT_OTHER];
}

void health_sample(struct health *h, const struct maps *m, uint64_t now_ms)
{
	struct tcplog_dp_stats st;

	h->s[h->next].at_ms = now_ms;
	h->s[h->next].failed = failed_total(m, &st);
	h->next = (h->next + 1) % HEALTH_SAMPLES;
	if (h->n < HEALTH_SAMPLES)
		h->n++;
}

void health_restart(struct health *h, const struct maps *m, uint64_t now_ms)
{
	h->n = h->next = 0;
	health_sample(h, m, now_ms);
}

/* The oldest sample within the window (the oldest kept, if none is). */
static uint64_t failed_at_window_start(const struct health *h, uint64_t now_ms,
				       uint64_t *age_ms)
{
	uint64_t window = HEALTH_FAILED_WINDOW_SEC * 1000ull;
	unsigned int i, k, best = HEALTH_SAMPLES;

	for (i = 0; i < h->n; i++) {
		/* From the oldest to the newest. */
		k = (h->next + HEALTH_SAMPLES - h->n + i) % HEALTH_SAMPLES;
		best = k;
		if (now_ms - h->s[k].at_ms <= window)
			break;
	}
	if (best == HEALTH_SAMPLES) {
		*age_ms = 0;
		return 0;
	}
	*age_ms = now_ms - h->s[best].at_ms;
	return h->s[best].failed;
}

static void check_inserts(struct health *h, const struct maps *m,
			  uint64_t now_ms, struct health_report *r)
{
	struct tcplog_dp_stats st;
	uint64_t failed = failed_total(m, &st), then, age_ms, delta;

	then = failed_at_window_start(h, now_ms, &age_ms);
	/* A reset makes the total smaller: count from zero then. */
	delta = failed >= then ? failed - then : failed;
	add(r, "insert_failures", delta ? HEALTH_WARNING : HEALTH_OK,
	    "%llu failed inserts in the last %llu s (%llu map full, %llu "
	    "other, in all)",
	    (unsigned long long)delta, (unsigned long long)(age_ms / 1000),
	    (unsigned long long)st.count[TCPLOG_STAT_INSERT_FULL],
	    (unsigned long long)st.count[TCPLOG_STAT_INSERT_OTHER]);
}

void health_check(struct health *h, const struct att_set *hooks,
		  const struct maps *m, uint64_t now_ms,
		  struct health_report *out)
{
	memset(out, 0, sizeof(*out));
	check_hooks(hooks, out);
	check_map(m, out);
	check_inserts(h, m, now_ms, out);
}
