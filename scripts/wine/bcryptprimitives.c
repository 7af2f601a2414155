/*
 * bcryptprimitives.dll shim for running Go 1.24+ Windows binaries under
 * Wine 8.0 (Debian 12), which lacks that DLL.
 *
 * The Go runtime on Windows loads ProcessPrng from bcryptprimitives.dll at
 * start-up and aborts with "bcryptprimitives.dll not found" when it cannot.
 * This DLL exports ProcessPrng and fills the buffer with advapi32's
 * RtlGenRandom (exported as SystemFunction036), which Wine implements.
 *
 * Build (scripts/wine/test-windows.sh does it):
 *   x86_64-w64-mingw32-gcc -shared -o bcryptprimitives.dll \
 *       bcryptprimitives.c bcryptprimitives.def -ladvapi32
 * and copy the DLL into the Wine prefix's drive_c/windows/system32.
 * Test-only: never ship it to a real Windows machine, which has the real DLL.
 */
#include <windows.h>

/* RtlGenRandom: BOOLEAN NTAPI SystemFunction036(PVOID, ULONG). */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/*
 * ProcessPrng fills data with len cryptographically random bytes. It returns
 * TRUE on success and FALSE if RtlGenRandom fails. RtlGenRandom takes a
 * ULONG length, so larger requests are filled in chunks.
 */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}
