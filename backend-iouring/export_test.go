package iouring

// Test hooks: options that force New's failure paths and the
// unexpected-result path, without a special kernel.

// WithFakeSetupError makes New act as if io_uring_setup failed with err.
func WithFakeSetupError(err error) Option { return func(c *config) { c.fakeSetupErr = err } }

// WithFakeProbeMissingFutex makes New act as if the probe lacked ops 51/52.
func WithFakeProbeMissingFutex() Option { return func(c *config) { c.fakeProbeMissing = true } }

// WithSysctlPath makes New read io_uring_disabled from path.
func WithSysctlPath(path string) Option { return func(c *config) { c.sysctlPath = path } }

// WithFutexFlags puts flags in the futex SQEs instead of
// FUTEX2_SIZE_U32|FUTEX2_PRIVATE (0 reproduces the original crate's bug).
func WithFutexFlags(flags uint32) Option { return func(c *config) { c.futexFlags = flags } }
