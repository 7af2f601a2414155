package shared

import "fmt"

// A RegionField is one word of a region that a corruption test may
// overwrite: its name, its offset in the region and its width in bytes.
type RegionField struct {
	Name  string
	Off   uintptr
	Width int
}

// RegionFields returns the words of a region of procs process slots and
// slots waiter slots that the semaphore reads and trusts: the state (queue
// links, counts), the journal (its length and the first entries), every
// process slot and every waiter slot. The header and the lock owner are
// left out (Open validates the header; an owner word naming a live process
// is a lock held, not a corruption).
func RegionFields(procs, slots int) []RegionField {
	l := newLayout(uint32(procs), uint32(slots))
	f := []RegionField{
		{"max", offMax, 8}, {"available", offAvail, 8}, {"closed", offClosed, 4},
		{"head", offHead, 4}, {"tail", offTail, 4}, {"waiting", offWaiting, 4},
		{"next ticket", offNextTicket, 8}, {"next grant", offNextGrant, 8},
		{"journal length", offJournalLen, 4}, {"slot hint", offSlotHint, 4},
		{"identity nonce", offNonce, 4},
	}
	for e := range 8 {
		o := l.journalOff + uintptr(e)*journalEntrySize
		f = append(f, RegionField{fmtField("journal entry", e, "offset"), o, 8}, RegionField{fmtField("journal entry", e, "old"), o + 8, 8})
	}
	for p := range procs {
		o := l.procsOff + uintptr(p)*procSize
		f = append(f, RegionField{fmtField("process", p, "identity"), o + procIdentity, 8},
			RegionField{fmtField("process", p, "held"), o + procHeld, 8},
			RegionField{fmtField("process", p, "pool"), o + procPool, 8})
	}
	for i := range slots {
		o := l.slotsOff + uintptr(i)*slotSize
		f = append(f, RegionField{fmtField("slot", i, "state"), o + slotState, 4},
			RegionField{fmtField("slot", i, "process"), o + slotProc, 4},
			RegionField{fmtField("slot", i, "n"), o + slotN, 8},
			RegionField{fmtField("slot", i, "next"), o + slotNext, 4},
			RegionField{fmtField("slot", i, "prev"), o + slotPrev, 4},
			RegionField{fmtField("slot", i, "ticket"), o + slotTicket, 8})
	}
	return f
}

func fmtField(kind string, i int, field string) string {
	return fmt.Sprintf("%s %d %s", kind, i, field)
}

// LockOwnerField is the region's lock owner word.
var LockOwnerField = RegionField{"lock owner", offLockOwner, 8}

// Poke stores v in the word f of the region s maps, atomically, as a
// stray store by another process would.
func (s *Semaphore) Poke(f RegionField, v uint64) {
	if f.Width == 4 {
		s.r.u32(f.Off).Store(uint32(v))
	} else {
		s.r.u64(f.Off).Store(v)
	}
}
