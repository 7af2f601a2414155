package ring

import (
	"testing"
	"unsafe"
)

// TestABISizesMatchKernelHeader guards the struct layouts against
// <linux/io_uring.h>: a wrong size or offset makes the kernel read garbage.
func TestABISizesMatchKernelHeader(t *testing.T) {
	var s SQE
	var p params
	checks := []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof(io_uring_sqe)", unsafe.Sizeof(s), sqeSize},
		{"sizeof(io_uring_cqe)", unsafe.Sizeof(CQE{}), cqeSize},
		{"sizeof(io_uring_params)", unsafe.Sizeof(p), paramsSize},
		{"offsetof(params.sq_off)", unsafe.Offsetof(p.SQOff), 40},
		{"offsetof(params.cq_off)", unsafe.Offsetof(p.CQOff), 80},
		{"offsetof(sqe.fd)", unsafe.Offsetof(s.Fd), 4},
		{"offsetof(sqe.off)", unsafe.Offsetof(s.Off), 8},
		{"offsetof(sqe.addr)", unsafe.Offsetof(s.Addr), 16},
		{"offsetof(sqe.len)", unsafe.Offsetof(s.Len), 24},
		{"offsetof(sqe.op_flags)", unsafe.Offsetof(s.OpFlags), 28},
		{"offsetof(sqe.user_data)", unsafe.Offsetof(s.UserData), 32},
		{"offsetof(sqe.addr3)", unsafe.Offsetof(s.Addr3), 48},
		{"sizeof(io_uring_probe)", unsafe.Sizeof(probeHeader{}), 16},
		{"sizeof(io_uring_probe_op)", unsafe.Sizeof(probeOp{}), 8},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}
