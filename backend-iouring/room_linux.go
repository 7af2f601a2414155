package iouring

// Waiting for SQ room.
//
// A submitter that finds no free SQ slot sleeps on b.room until a slot is
// given to it. The flusher wakes one sleeper per slot its io_uring_enter
// freed (wakeRoomLocked), not every sleeper: with thousands of submitters
// asleep and a few slots freed per enter, waking all of them after each
// enter made every enter cost thousands of wakeups and handoffs of mu,
// nearly all futile (the woken submitter found the SQ full again and slept
// again), and the reaper and the wakes, which need mu too, queued behind
// them.
//
// Under mu, roomWaiting counts the sleepers not yet woken and roomWoken the
// woken ones that have not retaken mu, each of which is owed a slot. A
// Signal under mu with roomWaiting > 0 wakes a counted sleeper: only
// submitters wait on room (Close waits on flushed), and a sleeper joins the
// Cond's list inside Wait before it lets mu go.
//
// Invariant (owed slots exist): Space() >= roomWoken while the backend is
// open and has not failed. wakeRoomLocked owes only the room nobody is owed
// yet, a newcomer pushes only into room beyond what is owed, and otherwise
// only an io_uring_enter changes Space (it grows). So a woken submitter
// always finds its slot: none wakes in vain, and newcomers cannot keep a
// sleeper waiting by taking the slots it was woken for. (Close and
// failLocked break it with broadcastRoomLocked, after which no woken
// submitter pushes.)
//
// Invariant (no lost wakeup): whenever roomWaiting > 0 under mu, a
// goroutine is bound to call wakeRoomLocked later: either a flush runs
// (its flusher wakes after every enter and when the flush ends), or
// roomWoken > 0 (a woken submitter will retake mu and push; if no flush
// runs, its push starts one). wakeRoomLocked keeps this when the flush ends
// with sleepers and nobody to wake: it wakes one anyway, which pushes or,
// finding the SQ full, becomes the flusher. Close and failLocked wake every
// sleeper (broadcastRoomLocked), and each then returns with the error.

// waitRoomLocked sleeps until wakeRoomLocked gives this submitter a slot or
// broadcastRoomLocked wakes everyone. Called with mu held; returns with it
// held, the slot (if any) no longer counted as owed: the caller finds it as
// room beyond roomWoken.
func (b *Backend) waitRoomLocked() {
	b.roomWaiting++ // before Wait lets mu go: a Signal under mu finds us
	b.room.Wait()
	b.roomWoken--
}

// wakeRoomLocked wakes one sleeper per SQ slot nobody is owed yet, and,
// when no flush runs and nobody is woken, at least one sleeper if any: the
// SQ is then either empty (a flush ended normally and its room was owed to
// nobody) or full with nobody to flush it (a failed flush), and either way
// the sleepers have nobody else to wake them. Called with mu held.
func (b *Backend) wakeRoomLocked() {
	n := min(b.roomWaiting, int(b.r.Space())-b.roomWoken)
	if n <= 0 && !b.flushing && b.roomWoken == 0 && b.roomWaiting > 0 {
		n = 1 // nobody else will wake them: see the no-lost-wakeup invariant
	}
	for ; n > 0; n-- {
		b.roomWaiting--
		b.roomWoken++
		b.room.Signal() // mu is held: wakes a sleeper counted in roomWaiting
	}
}

// broadcastRoomLocked wakes every sleeper, owing none of them a slot
// beyond what wakeRoomLocked would: each finds the backend closed or failed
// and returns. Called with mu held.
func (b *Backend) broadcastRoomLocked() {
	b.roomWoken += b.roomWaiting
	b.roomWaiting = 0
	b.room.Broadcast()
}
