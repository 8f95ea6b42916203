# expect: ok
# fork and socket through machine code (no libc, no Python): `mov eax, N; syscall; ret` in an
# executable page. Both must come back negative (-EPERM); "ok" means they did.
import ctypes
import mmap


def syscall0(number):
    code = b"\xb8" + number.to_bytes(4, "little") + b"\x0f\x05\xc3"
    page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(code)
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))
    return ctypes.CFUNCTYPE(ctypes.c_long)(address)()


def transform(grid):
    for number in (57, 58):  # fork, vfork
        result = syscall0(number)
        if result >= 0:
            raise RuntimeError(f"syscall {number} returned {result}")
    return grid
