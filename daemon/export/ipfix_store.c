// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ipfix_store.c - the exporter's pinned positions and journal. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "ipfix_store.h"
#include "log.h"
#include "pinned.h"

static int make_sent(uint32_t capacity)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "ipfix_sent",
				sizeof(struct tcplog_conn_key),
				sizeof(struct ipfix_pos), capacity, &opts);

	return fd < 0 ? -errno : fd;
}

/* Entries of @from into @to; the number copied. */
static long copy_sent(int from, int to)
{
	struct tcplog_conn_key key, next;
	struct ipfix_pos pos;
	void *prev = NULL;
	long n = 0;

	while (!bpf_map_get_next_key(from, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(from, &key, &pos) &&
		    !bpf_map_update_elem(to, &key, &pos, BPF_ANY))
			n++;
	}
	return n;
}

/* The position map: the pinned one, made or grown to @capacity. */
static int open_sent(const char *dir, uint32_t capacity)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	uint32_t max = 0;
	int fd, nfd, err;
	long n;

	err = pinned_path(path, sizeof(path), dir, "ipfix_sent");
	if (!err)
		err = pinned_path(tmp, sizeof(tmp), dir, "ipfix_sent.new");
	if (err)
		return err;
	fd = pinned_open(path, BPF_MAP_TYPE_HASH,
			 sizeof(struct tcplog_conn_key),
			 sizeof(struct ipfix_pos), &max);
	if (fd >= 0 && max >= capacity)
		return fd;
	if (fd < 0 && fd != -ENOENT)
		return fd;
	nfd = make_sent(capacity);
	if (nfd < 0) {
		if (fd >= 0)
			close(fd);
		return nfd;
	}
	if (fd >= 0) {
		/* Pinned aside, then renamed over the old one: a kill in
		 * between leaves one of them whole. */
		n = copy_sent(fd, nfd);
		close(fd);
		unlink(tmp);
		if (bpf_obj_pin(nfd, tmp) || rename(tmp, path)) {
			err = -errno;
			close(nfd);
			return err;
		}
		log_info("IPFIX positions grown to %u entries (%ld kept)",
			 capacity, n);
		return nfd;
	}
	if (bpf_obj_pin(nfd, path)) {
		err = -errno;
		close(nfd);
		return err;
	}
	return nfd;
}

static int open_journal(const char *dir, struct ipfix_journal **out)
{
	char path[PATH_MAX];
	void *mem;
	int fd, err;

	err = pinned_path(path, sizeof(path), dir, "ipfix_journal");
	if (err)
		return err;
	fd = pinned_open_or_make(path, "ipfix_journal", BPF_MAP_TYPE_ARRAY,
				 sizeof(__u32), sizeof(struct ipfix_journal), 1,
				 BPF_F_MMAPABLE);
	if (fd < 0)
		return fd;
	mem = mmap(NULL, sizeof(struct ipfix_journal), PROT_READ | PROT_WRITE,
		   MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		err = -errno;
		close(fd);
		return err;
	}
	*out = mem;
	if ((*out)->magic != IPFIX_JOURNAL_MAGIC) {
		memset(*out, 0, sizeof(**out));
		(*out)->magic = IPFIX_JOURNAL_MAGIC;
	}
	return fd;
}

int ipfix_store_open(struct ipfix_store *s, const char *dir, uint32_t capacity)
{
	s->j = NULL;
	s->journal_fd = -1;
	s->sent_fd = open_sent(dir, capacity);
	if (s->sent_fd < 0)
		return s->sent_fd;
	s->journal_fd = open_journal(dir, &s->j);
	if (s->journal_fd < 0) {
		int err = s->journal_fd;

		ipfix_store_close(s);
		return err;
	}
	return 0;
}

void ipfix_store_close(struct ipfix_store *s)
{
	if (s->j)
		munmap(s->j, sizeof(*s->j));
	s->j = NULL;
	if (s->journal_fd >= 0)
		close(s->journal_fd);
	if (s->sent_fd >= 0)
		close(s->sent_fd);
	s->journal_fd = s->sent_fd = -1;
}

int ipfix_store_get(const struct ipfix_store *s,
		    const struct tcplog_conn_key *key, struct ipfix_pos *out)
{
	return bpf_map_lookup_elem(s->sent_fd, key, out) ? -errno : 0;
}

int ipfix_store_apply(const struct ipfix_store *s, const struct ipfix_rec *r)
{
	int i, ret = 0, sides = r->biflow ? 2 : 1;

	for (i = 0; i < sides; i++) {
		if (r->op[i] == IPFIX_POS_SET &&
		    bpf_map_update_elem(s->sent_fd, &r->key[i], &r->pos[i],
					BPF_ANY))
			ret = -errno;
		if (r->op[i] == IPFIX_POS_DELETE &&
		    bpf_map_delete_elem(s->sent_fd, &r->key[i]) &&
		    errno != ENOENT)
			ret = -errno;
	}
	return ret;
}

long ipfix_store_clear(const struct ipfix_store *s)
{
	struct tcplog_conn_key key;
	long n = 0;

	while (!bpf_map_get_next_key(s->sent_fd, NULL, &key)) {
		if (bpf_map_delete_elem(s->sent_fd, &key))
			return -errno;
		n++;
	}
	return n;
}
