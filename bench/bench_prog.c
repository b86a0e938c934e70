// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_prog.c - nanoseconds per packet of the TC programs, measured with
 * BPF_PROG_TEST_RUN in one run so that the ratios are comparable.
 *
 *   bench_prog [--repeat N] [--rounds K] [--new-flows N] [--markdown]
 *
 * Established flows: the entry exists (a warm-up run creates it), then the
 * same packet runs N times in the kernel (test_run's repeat); the kernel
 * reports the mean time per run. Each row is measured K times, rows
 * interleaved, and the median is reported. New flows: N distinct
 * connections, each run once (repeat 1) into an empty map, against the
 * empty program run the same way, since a single run carries the timer's
 * own overhead.
 *
 * Two CPUs: the same flow from both CPUs at once (both write the entry's
 * cache line), each CPU its own flow, and one CPU alone, for the shared
 * map with atomic adds against a per-CPU hash with plain adds.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "empty.skel.h"
#include "maps.h"
#include "pktbuild.h"
#include "seed.skel.h"
#include "tcplogger.h"
#include "tcplogger.skel.h"
#include "variants.skel.h"

/* PK_V4B: another IPv4 connection, for the second CPU's own flow. */
enum pkt_kind { PK_V4, PK_V6, PK_VLAN, PK_V4B, PK_MAX };

/* New flows to a port nothing listens on (in the bench's namespace). */
#define BENCH_CLOSED_PORT 443

struct row {
	const char *program;
	const char *workload;
	int prog_fd;
	enum pkt_kind pkt;
	double *samples;
	double median;
};

#define ROW(prog, work, fd, kind)                                       \
	{                                                               \
		.program = (prog), .workload = (work), .prog_fd = (fd), \
		.pkt = (kind)                                           \
	}

static struct pkt pkts[PK_MAX];
static const char *const pkt_names[PK_MAX] = { "established IPv4",
					       "established IPv6",
					       "established VLAN IPv4",
					       "established IPv4, 2nd flow" };

/* An established connection's 1,000-byte segment from @sport (after the
 * link and IP headers the caller wrote). */
static void segment(struct pkt *p, uint16_t sport)
{
	pkt_tcp(p, sport, 443, 0x18, 8);
	pkt_bytes(p, 1000, 0x5a);
	pkt_finish(p);
}

/* IPv4 from port @sport, in a VLAN (@vid) or untagged (0). */
static void v4_packet(struct pkt *p, uint16_t sport, uint16_t vid)
{
	pkt_init(p);
	if (vid) {
		pkt_eth(p, ETH_P_8021Q);
		pkt_vlan(p, vid, ETH_P_IP);
	} else {
		pkt_eth(p, ETH_P_IP);
	}
	pkt_ipv4(p, "198.18.0.1", "198.18.0.2", IPPROTO_TCP, 5, 0);
	segment(p, sport);
}

static void build_packets(void)
{
	v4_packet(&pkts[PK_V4], 40000, 0);
	v4_packet(&pkts[PK_V4B], 40001, 0);
	v4_packet(&pkts[PK_VLAN], 40000, 100);
	pkt_init(&pkts[PK_V6]);
	pkt_eth(&pkts[PK_V6], ETH_P_IPV6);
	pkt_ipv6(&pkts[PK_V6], "fd00::1", "fd00::2", IPPROTO_TCP);
	segment(&pkts[PK_V6], 40000);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/*
 * Mean ns per run over @repeat runs. With repeat > 1 the time is taken
 * around the whole call: the kernel's own figure (opts.duration) is
 * truncated to whole nanoseconds, too coarse for a 13 ns program, while
 * the call's fixed cost (one skb, one syscall, about 2 us) is 0.002 ns per
 * run at a million runs. A single run (new flows) uses the kernel's
 * figure, which excludes the syscall.
 */
static int run(int prog_fd, const struct pkt *p, int repeat, double *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->buf,
		    .data_size_in = (__u32)p->len, .repeat = repeat);
	double t0 = now_ns();

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	*ns = repeat > 1 ? (now_ns() - t0) / repeat : opts.duration;
	return 0;
}

struct cpu_job {
	int prog_fd;
	enum pkt_kind pkt;
	int cpu;
	int repeat;
	pthread_barrier_t *start;
	double ns;
	int err;
};

static void *cpu_job_run(void *arg)
{
	struct cpu_job *j = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(j->cpu, &set);
	j->err = -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	pthread_barrier_wait(j->start);
	if (!j->err)
		j->err = run(j->prog_fd, &pkts[j->pkt], j->repeat, &j->ns);
	return NULL;
}

/* Runs @n jobs at once, a thread each, released together; -errno. */
static int run_together(struct cpu_job *jobs, int n)
{
	pthread_barrier_t start;
	pthread_t tid[2];
	int i, err = 0, started = 0;

	if (n > 2 || pthread_barrier_init(&start, NULL, (unsigned int)n))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		jobs[i].start = &start;
		if (pthread_create(&tid[i], NULL, cpu_job_run, &jobs[i]))
			break;
		started++;
	}
	if (started < n) {
		/* Cannot happen with two threads; do not leave one waiting. */
		fprintf(stderr, "pthread_create failed\n");
		exit(1);
	}
	for (i = 0; i < n; i++) {
		pthread_join(tid[i], NULL);
		if (jobs[i].err && !err)
			err = jobs[i].err;
	}
	pthread_barrier_destroy(&start);
	return err;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * New flows: @n connections to port @dport, each seen once (a SYN: an
 * embryonic entry, with the share's check and count, and the owner's
 * socket lookup). Returns the mean ns per run of @prog_fd and of
 * @empty_fd on the same packets.
 */
static int new_flows(int prog_fd, int empty_fd, int map_fd, int syn_fd, int n,
		     uint16_t dport, double *prog_ns, double *empty_ns)
{
	double sum_prog = 0, sum_empty = 0, ns = 0;
	struct tcplog_state no_syn = { 0 };
	struct pkt p;
	struct maps m;
	char src[32];
	__u32 zero = 0;
	int i, err;

	maps_init(&m, map_fd, -1, -1, 0);
	if (maps_clear(&m) < 0)
		return -errno;
	/* Every round starts from an empty share, as from an empty map. */
	if (bpf_map_update_elem(syn_fd, &zero, &no_syn, BPF_ANY))
		return -errno;
	for (i = 0; i < n; i++) {
		snprintf(src, sizeof(src), "198.18.%d.%d", 1 + i / 50000,
			 1 + (i / 250) % 200);
		pkt_init(&p);
		pkt_eth(&p, ETH_P_IP);
		pkt_ipv4(&p, src, "198.19.0.1", IPPROTO_TCP, 5, 0);
		pkt_tcp(&p, (uint16_t)(1024 + i % 250), dport, 0x02, 10);
		pkt_finish(&p);
		err = run(empty_fd, &p, 1, &ns);
		if (err)
			return err;
		sum_empty += ns;
		err = run(prog_fd, &p, 1, &ns);
		if (err)
			return err;
		sum_prog += ns;
	}
	*prog_ns = sum_prog / n;
	*empty_ns = sum_empty / n;
	return 0;
}

/*
 * The two-CPU table: for each program, ns per packet on one CPU alone
 * (each CPU in turn), on two CPUs counting the same flow at once, and on
 * two CPUs with a flow each; the mean of the two CPUs' medians over
 * @rounds, interleaved.
 */
struct cpu_prog {
	const char *name;
	int fd;
};

enum cpu_mode { CM_ONE, CM_SAME, CM_OWN, CM_MAX };

static int two_cpus(const struct cpu_prog *progs, int nprogs, int repeat,
		    int rounds, bool md)
{
	static const char *const mode_names[CM_MAX] = {
		"one CPU alone", "two CPUs, the same flow",
		"two CPUs, a flow each"
	};
	double *v = calloc((size_t)nprogs * CM_MAX * 2 * (size_t)rounds,
			   sizeof(double));
	int p, m, r, err = 0;

	if (!v)
		return -ENOMEM;
	for (r = 0; r < rounds && !err; r++) {
		for (p = 0; p < nprogs && !err; p++) {
			for (m = 0; m < CM_MAX && !err; m++) {
				struct cpu_job jobs[2] = {
					{ .prog_fd = progs[p].fd,
					  .pkt = PK_V4,
					  .cpu = 0,
					  .repeat = repeat },
					{ .prog_fd = progs[p].fd,
					  .pkt = m == CM_OWN ? PK_V4B : PK_V4,
					  .cpu = 1,
					  .repeat = repeat },
				};
				int n = m == CM_ONE ? 1 : 2;
				double *slot =
					v + (((size_t)p * CM_MAX + (size_t)m) *
					     2 * (size_t)rounds);

				/* Alone: on each CPU in turn (they differ:
				 * one takes more of the interrupts). */
				err = run_together(jobs, n);
				if (!err && m == CM_ONE)
					err = run_together(&jobs[1], 1);
				slot[r] = jobs[0].ns;
				slot[rounds + r] = jobs[1].ns;
			}
		}
	}
	if (err)
		goto out;
	printf(md ? "\n| program | CPUs and flows | ns/packet per CPU | "
		    "x one CPU |\n|---|---|---:|---:|\n" :
		    "\n%-36s %-24s %10s %8s\n",
	       "program", "CPUs and flows", "ns/pkt", "x one");
	for (p = 0; p < nprogs; p++) {
		double one = 0;

		for (m = 0; m < CM_MAX; m++) {
			double *slot = v + (((size_t)p * CM_MAX + (size_t)m) *
					    2 * (size_t)rounds);
			double ns = (median(slot, rounds) +
				     median(slot + rounds, rounds)) /
				    2;

			if (m == CM_ONE)
				one = ns;
			printf(md ? "| %s | %s | %.1f | %.2f |\n" :
				    "%-36s %-24s %10.1f %8.2f\n",
			       progs[p].name, mode_names[m], ns, ns / one);
		}
	}
out:
	free(v);
	return err;
}

/* A listener on every address, at a port the kernel picks; -errno. */
static int wildcard_listener(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static void print_machine(bool md)
{
	struct utsname u;
	char model[256] = "unknown", line[512], clk[64] = "unknown";
	FILE *f;

	uname(&u);
	f = fopen("/proc/cpuinfo", "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) == 0) {
			snprintf(model, sizeof(model), "%s",
				 strchr(line, ':') + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	f = fopen("/sys/devices/system/clocksource/clocksource0/"
		  "current_clocksource",
		  "re");
	if (f && fgets(clk, sizeof(clk), f))
		clk[strcspn(clk, "\n")] = '\0';
	if (f)
		fclose(f);
	printf("%sMachine: %s, %ld CPUs, kernel %s, clocksource %s, "
	       "libbpf %s\n",
	       md ? "" : "# ", model, sysconf(_SC_NPROCESSORS_ONLN), u.release,
	       clk, libbpf_version_string());
}

/* TCPLOGGER_NO_SKIP=1: every test must run (tests/lib/testlib.h). */
static bool no_skip(void)
{
	const char *v = getenv("TCPLOGGER_NO_SKIP");

	return v && !strcmp(v, "1");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repeat", required_argument, NULL, 'r' },
		{ "rounds", required_argument, NULL, 'k' },
		{ "new-flows", required_argument, NULL, 'n' },
		{ "markdown", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int repeat = 2000000, rounds = 7, nflows = 100000, opt, i, r, err;
	bool md = false;
	struct empty *empty = NULL;
	struct seed *seed = NULL;
	struct tcplogger *tl = NULL;
	struct variants *var = NULL;
	double floor_ns = 0, seed_ns = 0, ns = 0;
	double *samples = NULL, *new_prog = NULL, *new_empty = NULL;
	double *lst_prog = NULL, *lst_empty = NULL;
	uint16_t listen_port = 0;
	int lfd = -1;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			repeat = atoi(optarg);
			break;
		case 'k':
			rounds = atoi(optarg);
			break;
		case 'n':
			nflows = atoi(optarg);
			break;
		case 'm':
			md = true;
			break;
		default:
			fprintf(stderr,
				"usage: %s [--repeat N] [--rounds K] "
				"[--new-flows N] [--markdown]\n",
				argv[0]);
			return opt == 'h' ? 0 : 1;
		}
	}
	if (repeat < 1 || rounds < 1 || nflows < 1) {
		fprintf(stderr, "repeat, rounds and new-flows must be >= 1\n");
		return 1;
	}
	libbpf_set_print(NULL);
	build_packets();

	empty = empty__open_and_load();
	seed = seed__open_and_load();
	tl = tcplogger__open_and_load();
	var = variants__open_and_load();
	if (!empty || !seed || !tl || !var) {
		int e = errno;

		fprintf(stderr,
			"loading the programs failed: %s (needs root "
			"or CAP_BPF+CAP_NET_ADMIN+CAP_PERFMON)\n",
			strerror(e));
		/*
		 * 77: "skipped" for CTest's smoke run without privileges,
		 * unless TCPLOGGER_NO_SKIP=1 (CI) makes a skip a failure.
		 */
		err = (e == EPERM || e == EACCES) && !no_skip() ? 77 : 1;
		goto out;
	}

	struct row rows[] = {
		ROW("empty", "established IPv4",
		    bpf_program__fd(empty->progs.empty_prog), PK_V4),
		ROW("seed-style (spin lock, printk)", "established IPv4",
		    bpf_program__fd(seed->progs.seed_prog), PK_V4),
		ROW("seed-style without printk", "established IPv4",
		    bpf_program__fd(seed->progs.seed_noprint), PK_V4),
		ROW("tcplogger", pkt_names[PK_V4],
		    bpf_program__fd(tl->progs.tcplog_ingress), PK_V4),
		ROW("tcplogger", pkt_names[PK_V6],
		    bpf_program__fd(tl->progs.tcplog_ingress), PK_V6),
		ROW("tcplogger", pkt_names[PK_VLAN],
		    bpf_program__fd(tl->progs.tcplog_ingress), PK_VLAN),
		ROW("variant: 4 atomics, boot clock", "established IPv4",
		    bpf_program__fd(var->progs.v_atomic4), PK_V4),
		ROW("variant: spin lock, boot clock", "established IPv4",
		    bpf_program__fd(var->progs.v_spinlock), PK_V4),
		ROW("variant: per-CPU hash, boot clock", "established IPv4",
		    bpf_program__fd(var->progs.v_percpu), PK_V4),
		ROW("variant: 2 atomics, boot clock", "established IPv4",
		    bpf_program__fd(var->progs.v_atomic2), PK_V4),
		ROW("variant: packed word, boot clock", "established IPv4",
		    bpf_program__fd(var->progs.v_packed), PK_V4),
		ROW("variant: packed word, no clock", "established IPv4",
		    bpf_program__fd(var->progs.v_noclock), PK_V4),
		ROW("part: parse only", "established IPv4",
		    bpf_program__fd(var->progs.d_parse), PK_V4),
		ROW("part: parse + hash lookup", "established IPv4",
		    bpf_program__fd(var->progs.d_lookup), PK_V4),
		ROW("variant: 20-byte IPv4 key (not adopted)",
		    "established IPv4", bpf_program__fd(var->progs.v_split4),
		    PK_V4),
		ROW("flavour: LRU hash, packed word, no clock",
		    "established IPv4", bpf_program__fd(var->progs.v_lru),
		    PK_V4),
		ROW("flavour: hash without preallocation, no clock",
		    "established IPv4",
		    bpf_program__fd(var->progs.v_noprealloc), PK_V4),
		ROW("flavour: per-CPU hash, packed word, no clock",
		    "established IPv4", bpf_program__fd(var->progs.v_percpu_nc),
		    PK_V4),
		ROW("variant: per-CPU cache of recent flows",
		    "established IPv4", bpf_program__fd(var->progs.v_pcache),
		    PK_V4),
	};
	const int nrows = (int)(sizeof(rows) / sizeof(rows[0]));

	samples = calloc((size_t)(nrows + 4) * (size_t)rounds, sizeof(double));
	if (!samples) {
		err = -ENOMEM;
		goto out;
	}
	new_prog = samples + (size_t)nrows * (size_t)rounds;
	new_empty = new_prog + rounds;
	lst_prog = new_empty + rounds;
	lst_empty = lst_prog + rounds;
	lfd = wildcard_listener(&listen_port);
	if (lfd < 0) {
		err = lfd;
		fprintf(stderr, "listener: %s\n", strerror(-err));
		goto out;
	}
	for (i = 0; i < nrows; i++) {
		rows[i].samples = samples + (size_t)i * (size_t)rounds;
		/* Warm-up: creates the entry, faults in the code and data. */
		err = run(rows[i].prog_fd, &pkts[rows[i].pkt], 1000, &ns);
		if (err) {
			fprintf(stderr, "test_run %s: %s\n", rows[i].program,
				strerror(-err));
			goto out;
		}
	}
	/* The second CPU's own flow, for the programs of the two-CPU table. */
	for (i = 0; i < nrows && !err; i++)
		err = run(rows[i].prog_fd, &pkts[PK_V4B], 1000, &ns);
	if (err) {
		fprintf(stderr, "test_run: %s\n", strerror(-err));
		goto out;
	}
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < nrows; i++) {
			err = run(rows[i].prog_fd, &pkts[rows[i].pkt], repeat,
				  &rows[i].samples[r]);
			if (err)
				goto out;
		}
		err = new_flows(bpf_program__fd(tl->progs.tcplog_ingress),
				bpf_program__fd(empty->progs.empty_prog),
				bpf_map__fd(tl->maps.tcplog_conns),
				bpf_map__fd(tl->maps.tcplog_state), nflows,
				BENCH_CLOSED_PORT, &new_prog[r], &new_empty[r]);
		/* The owner's whole path: the lookup finds a (wildcard)
		 * listener, and the FIB says whether it is delivered here. */
		if (!err)
			err = new_flows(
				bpf_program__fd(tl->progs.tcplog_ingress),
				bpf_program__fd(empty->progs.empty_prog),
				bpf_map__fd(tl->maps.tcplog_conns),
				bpf_map__fd(tl->maps.tcplog_state), nflows,
				listen_port, &lst_prog[r], &lst_empty[r]);
		if (err) {
			fprintf(stderr, "new flows: %s\n", strerror(-err));
			goto out;
		}
	}
	for (i = 0; i < nrows; i++)
		rows[i].median = median(rows[i].samples, rounds);
	floor_ns = rows[0].median;
	seed_ns = rows[1].median;

	print_machine(md);
	printf("%srepeat %d, median of %d rounds, %d new flows per round\n\n",
	       md ? "" : "# ", repeat, rounds, nflows);
	if (md)
		printf("| program | workload | ns/packet | x empty | seed-style "
		       "/ this |\n|---|---|---:|---:|---:|\n");
	else
		printf("%-36s %-24s %10s %8s %8s\n", "program", "workload",
		       "ns/pkt", "x empty", "seed/x");
	for (i = 0; i < nrows; i++) {
		const char *fmt = md ? "| %s | %s | %.1f | %.2f | %.1f |\n" :
				       "%-36s %-24s %10.1f %8.2f %8.1f\n";

		printf(fmt, rows[i].program, rows[i].workload, rows[i].median,
		       rows[i].median / floor_ns, seed_ns / rows[i].median);
	}
	{
		double p = median(new_prog, rounds),
		       e = median(new_empty, rounds);
		const char *fmt =
			md ? "| tcplogger | new flow (each run once) | %.1f | "
			     "%.2f | - |\n| empty | same packets, run once | "
			     "%.1f | 1.00 | - |\n" :
			     "%-36s %-24s %10.1f %8.2f %8s\n"
			     "%-36s %-24s %10.1f %8.2f %8s\n";

		if (md)
			printf(fmt, p, p / e, e);
		else
			printf(fmt, "tcplogger", "new flow (run once)", p,
			       p / e, "-", "empty", "same, run once", e, 1.0,
			       "-");
		p = median(lst_prog, rounds);
		e = median(lst_empty, rounds);
		if (md)
			printf("| tcplogger | new flow to a listener (run "
			       "once) | %.1f | %.2f | - |\n",
			       p, p / e);
		else
			printf("%-36s %-24s %10.1f %8.2f %8s\n", "tcplogger",
			       "new flow, listener", p, p / e, "-");
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
		const struct cpu_prog cpu_progs[] = {
			{ "tcplogger (shared entry, atomic add)",
			  bpf_program__fd(tl->progs.tcplog_ingress) },
			{ "variant: shared entry, atomic add, no clock",
			  bpf_program__fd(var->progs.v_noclock) },
			{ "flavour: per-CPU values, plain add, no clock",
			  bpf_program__fd(var->progs.v_percpu_nc) },
		};

		err = two_cpus(cpu_progs, 3, repeat, rounds, md);
		if (err) {
			fprintf(stderr, "two CPUs: %s\n", strerror(-err));
			goto out;
		}
	} else {
		printf("\n(one CPU online: no two-CPU figures)\n");
	}
	err = 0;
out:
	if (lfd >= 0)
		close(lfd);
	free(samples);
	variants__destroy(var);
	tcplogger__destroy(tl);
	seed__destroy(seed);
	empty__destroy(empty);
	return err == 77 ? 77 : err ? 1 : 0;
}
