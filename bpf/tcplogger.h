/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tcplogger.h - the contract between the BPF program and user space.
 *
 * Used by BPF and user space. Every structure that crosses the bpf()
 * boundary is declared here once, with fixed-width types, explicit padding
 * and the byte order of each field. A change to any layout below must bump
 * TCPLOG_ABI_VERSION: the daemon compares it with the version stored next to
 * pinned maps before it adopts them.
 */
#ifndef TCPLOGGER_H
#define TCPLOGGER_H

#include <linux/types.h>

#define TCPLOG_ABI_VERSION 3

/* Capacity of the connection map unless configuration says otherwise. */
#define TCPLOG_DEFAULT_MAX_CONNS 262144

/*
 * Packet-parsing limits; packets beyond them are counted, never dropped.
 * VLAN tags count whether they are in the frame or in the packet's
 * metadata (a tag the driver or the receive path took out of the frame).
 */
#define TCPLOG_MAX_VLAN_TAGS 2
#define TCPLOG_VLAN_TAG_LEN 4
#define TCPLOG_VLAN_VID_MASK 0x0fff
#define TCPLOG_MAX_IPV6_EXT_HDRS 8

enum tcplog_direction {
	TCPLOG_DIR_INGRESS = 0,
	TCPLOG_DIR_EGRESS = 1,
};

enum tcplog_family {
	TCPLOG_FAMILY_IPV4 = 4,
	TCPLOG_FAMILY_IPV6 = 6,
};

/* TCP flag bits, as in byte 13 of the TCP header (RFC 9293, RFC 3168). */
enum tcplog_tcp_flag {
	TCPLOG_TCP_FIN = 0x01,
	TCPLOG_TCP_SYN = 0x02,
	TCPLOG_TCP_RST = 0x04,
	TCPLOG_TCP_PSH = 0x08,
	TCPLOG_TCP_ACK = 0x10,
	TCPLOG_TCP_URG = 0x20,
	TCPLOG_TCP_ECE = 0x40,
	TCPLOG_TCP_CWR = 0x80,
};

/*
 * Key of the connection map: one entry per interface, direction, VLAN IDs
 * and TCP 4-tuple. The BPF program zeroes the whole key before filling it,
 * so padding, unused address bytes and unused VLAN slots are always zero
 * and hash consistently.
 *
 * Addresses are in network byte order. An IPv6 address fills all 16 bytes;
 * an IPv4 address fills bytes 0-3 and bytes 4-15 are zero (the family field,
 * not the address, says which form is used).
 *
 * VLAN IDs (the 12-bit VID; priority bits are not part of the key) are
 * outermost first: vlan_id[0] is the tag the packet carried outermost on
 * the wire, whether the frame still holds it or the kernel moved it into
 * the skb's metadata. vlan_count says how many are set, so a
 * priority-tagged frame (VID 0) differs from an untagged one.
 */
struct tcplog_conn_key {
	__u8 src_addr[16]; /* network byte order */
	__u8 dst_addr[16]; /* network byte order */
	__u32 ifindex; /* host byte order: skb->ifindex at the hook */
	__be16 src_port; /* network byte order */
	__be16 dst_port; /* network byte order */
	__u8 direction; /* enum tcplog_direction */
	__u8 family; /* enum tcplog_family */
	__u8 vlan_count; /* 0..TCPLOG_MAX_VLAN_TAGS */
	__u8 pad; /* always zero */
	__u16 vlan_id[TCPLOG_MAX_VLAN_TAGS]; /* host byte order, 0 if unused */
};

/*
 * Value of the connection map. All fields are host byte order.
 *
 * Only what must be exact per packet is written per packet, with a single
 * atomic instruction for a packet of an established connection; the
 * contract's counters are derived when the entry is read
 * (tcplog_conn_derive() in lib/conn.c). docs/DESIGN.md has the reasoning
 * and the measurements.
 *
 * Bytes and packets share one 64-bit word: each packet atomically adds
 * (1 << 32) + len to `counter`, so counter is S mod 2^64 with
 * S = packets * 2^32 + bytes. The program sees the old value that the
 * atomic add returns, so it knows exactly when the low 32 bits carried
 * (bytes_carries += 1) and when the word wrapped (counter_wraps += 1);
 * both are rare (every 4 GiB and every 2^32 packets) and atomic. Then
 *
 *   bytes      = (counter & 0xffffffff) + bytes_carries * 2^32
 *   packets    = counter_wraps * 2^32 + (counter >> 32) - bytes_carries
 *   segments   = packets + gso_extra
 *   ip_bytes   = bytes - packets * l2_len - l2_extra          (mod 2^64)
 *
 * Lengths are frame lengths as a capture on the interface shows them: a
 * VLAN tag held in the skb's metadata adds its 4 bytes. segments counts
 * TCP segments on the wire: gso_segs where the kernel computed it, else,
 * for a GSO packet from virtio-net or tap (gso_size set, gso_segs 0),
 * ceil(TCP payload / gso_size).
 *
 * l2_len is the non-IP part (L2 header, padding) of the first packet, fixed
 * when the entry is created. Packets whose non-IP part differs (a padded
 * runt, another VLAN depth) add the difference, modulo 2^64, to l2_extra;
 * for an ordinary connection l2_extra stays 0 and is never written.
 *
 * Timestamps are CLOCK_BOOTTIME (it keeps running across suspend), with the
 * resolution of the kernel tick: see struct tcplog_percpu.
 *
 * cgroup_id is the cgroup (v2 id) of the local socket the connection
 * belongs to, found once, by the packet that creates the entry: on egress
 * the packet's own socket; on ingress the socket the kernel will deliver
 * it to (the same lookup as TCP's receive path: the connection's socket,
 * or the listener a SYN is for). 0 when there is none: forwarded traffic,
 * a SYN to a closed port, the kernel's own answers (resets, time-wait
 * ACKs, sent from sockets in the root cgroup), and kernels or
 * configurations without the helpers (enum tcplog_owner).
 */
struct tcplog_conn_val {
	__u64 counter; /* atomic fetch-add, every packet */
	__u64 bytes_carries; /* atomic add, every 4 GiB */
	__u64 counter_wraps; /* atomic add, every 2^32 packets */
	__u64 gso_extra; /* atomic add, GSO/GRO packets only: gso_segs - 1 */
	__u64 l2_extra; /* atomic add, only when a packet's L2 part differs */
	__u64 first_seen_ns; /* CLOCK_BOOTTIME, set at creation */
	__u64 last_seen_ns; /* CLOCK_BOOTTIME, plain store once per tick */
	__u64 tcp_flags; /* union of enum tcplog_tcp_flag, and the state bits
			  * below; atomic or and and, on change only */
	__u32 l2_len; /* set at creation, never changed */
	__u32 pad; /* always zero */
	__u64 cgroup_id; /* set at creation, never changed: the owner */
};

/*
 * tcp_flags holds the TCP flags in its low byte and the program's state of
 * the entry above it.
 *
 * TCPLOG_CONN_EMBRYONIC: every packet of the entry so far carried SYN (a
 * SYN, its retransmits, a SYN-ACK): no handshake completed in this
 * direction. Set when a SYN creates the entry, cleared by the first packet
 * without SYN. Spoofed SYNs and scans make only such entries; the daemon
 * expires them after syn_timeout, and first under pressure. Programs of
 * this ABI version that predate the bit never set it: an entry without it
 * is an ordinary one, the safe reading, so maps carry over either way.
 */
#define TCPLOG_TCP_FLAGS_MASK 0xffULL
#define TCPLOG_CONN_EMBRYONIC (1ULL << 8)

/*
 * Who opened the connection, for the connection view that merges an entry
 * with the entry of the opposite direction: TCPLOG_CONN_SYN_SENT once the
 * entry carried a SYN without ACK (its sender opened the connection),
 * TCPLOG_CONN_SYN_ACK once it carried a SYN with ACK (its receiver did).
 * Set on SYN packets only, when not yet set: the established path never
 * writes them.
 */
#define TCPLOG_CONN_SYN_SENT (1ULL << 9)
#define TCPLOG_CONN_SYN_ACK (1ULL << 10)

/*
 * Which owner lookups the program makes (its read-only owner_helpers),
 * set by the daemon at load time from what the kernel allows in TC
 * programs; a lookup left out leaves cgroup_id 0.
 */
enum tcplog_owner {
	/* Egress: bpf_skb_cgroup_id() (the packet's socket). */
	TCPLOG_OWNER_EGRESS = 1,
	/* Ingress: bpf_sk_lookup_tcp() and bpf_sk_cgroup_id(). */
	TCPLOG_OWNER_INGRESS = 2,
	/* Ingress: bpf_fib_lookup(), so that a packet to another host that
	 * a local wildcard listener of the same port would match (forwarded
	 * traffic) is not given that listener's owner. */
	TCPLOG_OWNER_ROUTED = 4,
	TCPLOG_OWNER_ALL = 7,
};

/* The root cgroup's id on cgroup v2: where the kernel's own sockets are. */
#define TCPLOG_ROOT_CGROUP_ID 1

/*
 * The owners' unit names: a hash map from cgroup id to the name of its
 * systemd unit, pinned with the other maps so that a name survives the
 * unit (a cgroup is gone once its unit stops) and the daemon's restarts.
 * The program inserts an empty name for an id it meets first in a new
 * entry and tells the daemon on the owner_events ring buffer (the id, 8
 * bytes), which resolves it at once, while the unit still runs, and
 * writes the name. "-": resolved, a cgroup of no unit. At most
 * TCPLOG_UNITS_MAX ids; beyond, the daemon resolves lazily.
 */
#define TCPLOG_UNITS_MAX 8192
#define TCPLOG_UNIT_NAME_MAX 256
#define TCPLOG_OWNER_EVENTS_BYTES (64 * 1024)

struct tcplog_unit {
	char name[TCPLOG_UNIT_NAME_MAX]; /* NUL-terminated; "": not yet */
};

#define TCPLOG_COUNTER_PACKET (1ULL << 32)
#define TCPLOG_COUNTER_BYTES_MASK 0xffffffffULL

/*
 * Datapath statistics. Every packet the program sees increments exactly one
 * of these buckets, so their sum is the number of packets seen.
 */
enum tcplog_stat {
	TCPLOG_STAT_COUNTED = 0, /* added to a connection entry */
	TCPLOG_STAT_NON_IP, /* not IPv4/IPv6 (also: more than 2 VLAN tags) */
	TCPLOG_STAT_NON_TCP, /* IP, but the transport is not TCP */
	TCPLOG_STAT_MALFORMED, /* bad IP version, IHL, length, TCP data offset */
	TCPLOG_STAT_TRUNCATED, /* a header is cut short by the packet's end */
	TCPLOG_STAT_FRAGMENT, /* non-first IP fragment: no TCP header */
	TCPLOG_STAT_INSERT_FULL, /* new connection, no room: the map is full,
				  * or a SYN found the embryonic share full */
	TCPLOG_STAT_INSERT_OTHER, /* new connection, insert failed otherwise */
	TCPLOG_STAT_MAX,
};

struct tcplog_dp_stats {
	__u64 count[TCPLOG_STAT_MAX];
};

/*
 * The per-CPU state of the program: BPF_MAP_TYPE_PERCPU_ARRAY with a single
 * element (key 0), one copy per possible CPU. No other CPU writes a copy,
 * so the program updates it without atomics; user space sums the stats of
 * all copies and ignores the clock.
 *
 * The clock cache: reading CLOCK_BOOTTIME costs about 28 ns on this
 * paravirtual clock, more than all other per-packet work; jiffies cost
 * about 2 ns but stop during suspend. The program reads jiffies and, when a
 * tick has passed since the last packet on this CPU, reads BOOTTIME once
 * and keeps it: every packet gets the BOOTTIME of the first packet of its
 * tick on its CPU (so it is exact to one tick, 1-10 ms by CONFIG_HZ), and
 * after a resume the first packet sees a new tick and a fresh BOOTTIME.
 */
struct tcplog_percpu {
	struct tcplog_dp_stats stats;
	__u64 clock_jiffies; /* jiffies of the cached tick */
	__u64 clock_boot_ns; /* CLOCK_BOOTTIME at the first packet in it */
};

/*
 * Embryonic entries (TCPLOG_CONN_EMBRYONIC) may take at most this share of
 * the map: a flood of spoofed SYNs, however large, leaves the rest to
 * connections that complete their handshake (think of conntrack's early
 * drop, without dropping packets). A SYN that would create an entry beyond
 * it is not counted (TCPLOG_STAT_INSERT_FULL); its connection is counted
 * from its first packet without SYN.
 */
#define TCPLOG_EMBRYONIC_SHARE_PCT 50

/*
 * The daemon's removal in progress, in struct tcplog_state: written before
 * the removal, and the kernel copies the removed entry's value straight
 * into @val (the lookup-and-delete's output buffer is this mapped memory),
 * so that a daemon killed between the delete and the save of the totals
 * leaves the entry here: the next start adds it to the totals if the save
 * did not happen (totals.entries still @entries_before). A live value
 * always has a packet in @val.counter; zero means the delete did not.
 */
enum tcplog_take_state {
	TCPLOG_TAKE_NONE = 0,
	TCPLOG_TAKE_BUSY = 1, /* between the record and the saved totals */
};

struct tcplog_take {
	__u32 state; /* enum tcplog_take_state */
	__u32 reason; /* enum tcplog_reason */
	__u64 entries_before; /* totals.entries before this removal */
	struct tcplog_conn_key key;
	struct tcplog_conn_val val;
};

/*
 * State shared by the program and the daemon: the one element of a
 * BPF_MAP_TYPE_ARRAY (BPF_F_MMAPABLE), pinned with the other maps, which
 * both sides change with atomics or plain stores on the mapped memory.
 *
 * embryonic: the embryonic entries in the map. The program adds 1 when it
 * creates one and subtracts 1 when a packet without SYN completes one; the
 * daemon subtracts 1 for each one it removes. Exact but for races of a
 * packet with the removal of its own entry; it decides admission only,
 * never a count users see. Zeroed whenever the connection map is created
 * or cleared. Alone on its cache line: the program's atomics on it never
 * contend with the daemon's writes to @take.
 */
struct tcplog_state {
	__s64 embryonic;
	__u64 pad[7];
	struct tcplog_take take; /* the daemon's only */
};

/*
 * Why a connection entry was removed from the map (by the daemon).
 */
enum tcplog_reason {
	TCPLOG_REASON_FIN = 0, /* closed with a FIN, closed_timeout passed */
	TCPLOG_REASON_RST, /* closed with an RST, closed_timeout passed */
	TCPLOG_REASON_IDLE, /* no packet for idle_timeout (syn_timeout for
			     * an embryonic entry) */
	TCPLOG_REASON_PRESSURE, /* removed early, the map or the embryonic
				 * share nearly full: embryonic entries
				 * first, then closed ones, then the longest
				 * idle */
	TCPLOG_REASON_UPGRADE, /* an entry of an older map layout whose
				* connection the new program had already
				* counted again: its counts are kept here */
	TCPLOG_REASON_MAX,
};

/*
 * What expiry removed so far: one element of an array map, written by the
 * daemon only (the BPF program never touches it) and pinned with the
 * other maps, so that live entries + these totals always equal everything
 * counted since the maps were created, across daemon restarts.
 */
struct tcplog_totals {
	__u64 entries;
	__u64 bytes;
	__u64 ip_bytes;
	__u64 packets;
	__u64 segments;
	__u64 reason[TCPLOG_REASON_MAX]; /* entries by enum tcplog_reason */
};

/*
 * Sizes are part of the ABI. The asserts catch a compiler or an edit that
 * changes a layout without bumping TCPLOG_ABI_VERSION.
 */
_Static_assert(sizeof(struct tcplog_conn_key) == 48, "conn key layout");
_Static_assert(sizeof(struct tcplog_conn_val) == 80, "conn value layout");
_Static_assert(sizeof(struct tcplog_dp_stats) == 8 * TCPLOG_STAT_MAX,
	       "stats layout");
_Static_assert(sizeof(struct tcplog_percpu) == 8 * TCPLOG_STAT_MAX + 16,
	       "per-CPU layout");
_Static_assert(sizeof(struct tcplog_take) == 16 + 48 + 80, "take layout");
_Static_assert(sizeof(struct tcplog_state) == 64 + sizeof(struct tcplog_take),
	       "shared state layout");
_Static_assert(sizeof(struct tcplog_totals) == 8 * (5 + TCPLOG_REASON_MAX),
	       "totals layout");
_Static_assert(sizeof(struct tcplog_unit) == TCPLOG_UNIT_NAME_MAX,
	       "unit name layout");

#endif /* TCPLOGGER_H */
