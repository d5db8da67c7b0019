#!/usr/bin/env python3
"""Writes an assembler file that embeds the guestfw image (sim/emu.c reads it)."""
import sys

import os

binary, out = os.path.abspath(sys.argv[1]), sys.argv[2]
with open(out, "w") as f:
    f.write('\t.section .rodata\n\t.balign 16\n\t.globl emu_guest_image, emu_guest_image_end\n')
    f.write('emu_guest_image:\n\t.incbin "%s"\nemu_guest_image_end:\n' % binary.replace('"', '\\"'))
    f.write('\t.section .note.GNU-stack,"",@progbits\n')
