package fleet

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// watchLoop keeps s.mirror equal to the semaphore's state at the latest
// revision this process has seen, with one watch on the prefix, and after
// each change decides this process's waiters and holders (evaluateLocked).
//
// Every pass starts with a linearizable Get of the whole prefix and watches
// from the revision after it, so the mirror never misses a change: a
// compaction, a lost leader (the watch requires one) or a closed stream
// ends the pass and the next one starts from a fresh read. The client
// resumes a watch across reconnects by itself.
func (s *Semaphore) watchLoop() {
	defer s.wg.Done()
	backoff := 10 * time.Millisecond
	for s.bg.Err() == nil {
		ctx, cancel := context.WithTimeout(s.bg, s.opTimeout)
		resp, err := s.cli.Get(ctx, s.pfx, clientv3.WithPrefix())
		cancel()
		if err != nil {
			sleepCtx(s.bg, backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 10 * time.Millisecond
		s.mu.Lock()
		s.mirror = viewOf(s.pfx, resp.Header.Revision, resp.Kvs)
		s.evaluateLocked()
		s.mu.Unlock()

		s.watchStarts.Add(1)
		wctx, wcancel := context.WithCancel(clientv3.WithRequireLeader(s.bg))
		wch := s.cli.Watch(wctx, s.pfx, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
		for wr := range wch {
			if wr.Err() != nil || wr.Canceled {
				break
			}
			if len(wr.Events) == 0 {
				continue
			}
			s.mu.Lock()
			for _, ev := range wr.Events {
				if ev.Type == clientv3.EventTypeDelete {
					s.mirror.del(s.pfx, string(ev.Kv.Key))
				} else {
					s.mirror.put(s.pfx, ev.Kv)
				}
				s.mirror.rev = max(s.mirror.rev, ev.Kv.ModRevision)
			}
			s.evaluateLocked()
			s.mu.Unlock()
		}
		wcancel()
	}
}

// evaluateLocked decides, from the mirror, every local record whose Txn the
// mirror has caught up with: a waiter granted by the rule in grants()
// receives its Permit, one rejected fails, a held key that vanished (lease
// expired or revoked, or deleted by someone else) is reported lost. Keys of
// our leases that no record claims are left to the cleanup.
func (s *Semaphore) evaluateLocked() {
	v := s.mirror
	if v == nil {
		return
	}
	st, _, _ := v.grants(s.mut.Load() == mutGrantByArrival)
	for key, l := range s.local {
		if l.rev == 0 || l.rev > v.rev {
			continue // pending, or the mirror has not seen its Txn yet
		}
		_, present := v.entries[key]
		switch l.state {
		case lsWaiting:
			switch {
			case !present:
				s.loseLocked(l)
			case st[key] == stGranted:
				l.ch <- result{p: s.holdLocked(l)}
			case st[key] == stTooLarge:
				s.failLocked(l, ErrTooLarge)
			case st[key] == stClosed:
				s.failLocked(l, ErrClosed)
			case !v.hasMax:
				s.failLocked(l, ErrNotExist)
			}
		case lsHeld:
			if !present {
				s.loseLocked(l)
			}
		}
	}
	if s.hasOrphansLocked() {
		s.kickReaper()
	}
}

// orphansLocked lists keys of our leases in the mirror that no local record
// claims: the key of an Acquire that failed, was cancelled or refused, or a
// Permit released, whose delete has not been seen yet or failed.
func (s *Semaphore) orphansLocked() []string {
	if s.mirror == nil {
		return nil
	}
	var keys []string
	for key, e := range s.mirror.entries {
		if s.leases[e.lease] && s.local[key] == nil {
			keys = append(keys, key)
		}
	}
	return keys
}

func (s *Semaphore) hasOrphansLocked() bool { return len(s.orphansLocked()) > 0 }

// reapLoop deletes orphans: after a kick and then every 500 ms while some
// remain (a delete that failed while etcd was unreachable is retried until
// it lands or the lease ends).
func (s *Semaphore) reapLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.bg.Done():
			return
		case <-s.reapKick:
		case <-tick.C:
		}
		s.mu.Lock()
		keys := s.orphansLocked()
		s.mu.Unlock()
		for _, key := range keys {
			ctx, cancel := context.WithTimeout(s.bg, s.opTimeout)
			_, _ = s.cli.Delete(ctx, key)
			cancel()
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
