/* SPDX-License-Identifier: MIT */
/*
 * Entry of the guestfw image: the header the engine reads, the start routine
 * (RDI = struct emu_boot *, RSP set by the engine, long mode, IF=0) and the
 * #VC entry for IDT vector 29. The #VC frame is the hardware one: error code,
 * RIP, CS, RFLAGS, RSP, SS.
 */
	.section .text.header, "ax"
	.globl emu_guest_header
emu_guest_header:
	.quad 0x31554d4550534e53	/* EMU_ABI_MAGIC */
	.quad emu_guest_start
	.quad emu_guest_vc_entry
	.quad __emu_file_end
	.quad __emu_mem_end

	.section .text.start, "ax"
	.globl emu_guest_start
emu_guest_start:
	and $-16, %rsp
	movabs $emu_guest_main, %rax
	call *%rax
	/* emu_guest_main does not return; if it did, say the program is done */
	mov $1, %eax
	.byte 0x0f, 0x0b, 'S', 'H'
1:	cli
	hlt
	jmp 1b

	.globl emu_guest_vc_entry
emu_guest_vc_entry:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi		/* struct emu_vc_regs * */
	mov %rsp, %rbx
	and $-16, %rsp
	movabs $emu_guest_vc, %rax
	call *%rax
	mov %rbx, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $8, %rsp		/* the error code */
	iretq

	.section .note.GNU-stack, "", @progbits
