# expect: killed
# The 32-bit system call entry (int 0x80) with fork's i386 number: a foreign ABI, so the
# filter kills the process (a filter that checked only x86_64 numbers would let it through).
import ctypes
import mmap


def transform(grid):
    code = b"\xb8\x02\x00\x00\x00\xcd\x80\xc3"  # mov eax, 2 (fork on i386); int 0x80; ret
    page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(code)
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))
    result = ctypes.CFUNCTYPE(ctypes.c_long)(address)()
    raise RuntimeError(f"int 0x80 fork returned {result}")
