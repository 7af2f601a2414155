package core

// The state word.
//
// Everything the lock-free fast paths need lives in one uint64, so that an
// uncontended Acquire is one compare-and-swap and a Release one too:
//
//	bit  0      closed: Close has run; every Acquire fails.
//	bit  1      queued: the waiter queue is non-empty. While it is set, no
//	            Acquire or TryAcquire takes permits from the word: permits
//	            are granted only under Semaphore.mu, from the head of the
//	            queue. This is what makes the queue strictly FIFO: a fast
//	            path can never take permits that a queued waiter is owed.
//	            A Release that sees the flag takes mu and hands its permits
//	            to the head in the CAS that returns them (releaseLocked);
//	            one that loaded the word before the flag was set fails its
//	            CAS and looks again. Every write made under mu is a
//	            compare-and-swap, never a blind store, since fast paths
//	            write the word without mu while the flag is clear.
//	bit  2      observed: an Observer is set (SetObserver). AcquireN then
//	            counts its grants in Semaphore.granted, which shares this
//	            word's cache line; without the flag the fast path pays only
//	            a test of a bit it has already loaded.
//	bit  3      lanes: the stripes are engaged (stripes.go). Set under mu
//	            before any lane is turned on, cleared (in the same CAS that
//	            adds back what the lanes held) only after every lane is off,
//	            so while it is clear every free permit is in this word: a
//	            decision made on a word without it (TryRelease's held count,
//	            a failing TryAcquire) is exact, and a CAS that commits it
//	            fails if the lanes engaged in between. The fast paths leave
//	            a word with it set to the slow paths, which use the lanes.
//	bits 4-17   generation: incremented (mod 2^14) by every SetMaxPermits.
//	bits 18-63  available permits, a signed 46-bit number. It is negative
//	            only after SetMaxPermits shrank the maximum below the number
//	            of permits in use.
//
// The maximum lives in a second word, cfg (max<<14 | generation), written only
// under Semaphore.mu by SetMaxPermits. Releases need it to detect a release of
// more permits than are held (held = max - available). Release and
// TryRelease read state, then cfg, use them only if their generations match
// (else they decide under mu), and their compare-and-swap on state then
// fails if a resize has run since, because the resize changed the
// generation in state.

const (
	flagClosed   uint64 = 1 << 0
	flagQueued   uint64 = 1 << 1
	flagObserved uint64 = 1 << 2
	flagLanes    uint64 = 1 << 3

	// flagsSlow are the flags that send a fast-path Acquire to the slow
	// path: one test of the loaded word decides.
	flagsSlow = flagClosed | flagQueued | flagObserved | flagLanes

	genShift = 4
	genBits  = 14
	genMask  = 1<<genBits - 1

	availShift = genShift + genBits

	cfgGenMask  = genMask
	cfgMaxShift = genBits
)

// MaxPermitsLimit is the largest permit count a Semaphore can hold: the
// largest value NewSemaphore and SetMaxPermits accept and the largest
// request AcquireN can be granted. It is 2^45-1 (about 3.5e13), enough to
// count bytes of memory on any machine. Where int is 32 bits, the counts are
// further capped by the int type (math.MaxInt32).
const MaxPermitsLimit = 1<<45 - 1

// availOf returns the signed count of available permits in a state word.
func availOf(st uint64) int64 { return int64(st) >> availShift }

// permitsDelta returns what to add to a state word to add n (possibly
// negative) available permits; two's-complement wrap-around makes
// subtraction work too.
func permitsDelta(n int64) uint64 { return uint64(n) << availShift }

// stateGen returns the resize generation recorded in a state word.
func stateGen(st uint64) uint64 { return st >> genShift & genMask }

// withGen returns st with its generation replaced by gen.
func withGen(st, gen uint64) uint64 {
	return st&^(genMask<<genShift) | (gen&genMask)<<genShift
}

// maxOf returns the maximum recorded in a cfg word.
func maxOf(cfg uint64) int64 { return int64(cfg >> cfgMaxShift) }

// cfgGen returns the resize generation recorded in a cfg word.
func cfgGen(cfg uint64) uint64 { return cfg & cfgGenMask }

// makeCfg packs a maximum and a generation into a cfg word.
func makeCfg(max int64, gen uint64) uint64 { return uint64(max)<<cfgMaxShift | gen&cfgGenMask }
