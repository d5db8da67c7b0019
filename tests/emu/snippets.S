/* SPDX-License-Identifier: MIT */
/*
 * Hand-written guest code for the engine's trap tests (emu_traps.c): one blob
 * that the test copies to the start of the engine region (EMU_FW_BASE) and
 * enters at one of the t_* labels, in long mode with the test's GDT/IDT/TSS.
 * It lives in .rodata: it is data to the host, code only to the guest. The
 * labels on trapping instructions let the test check the #VC frame's RIP.
 *
 * Layout (offsets from EMU_FW_BASE, shared with emu_traps.c):
 *   LOG   0x60000: [0] entries, then 4 qwords each: error code, RIP, CR2, RSP
 *   FLAGS 0x68000: [0] nonzero: the next #VC 0x7B handler runs a CPUID (nested)
 *   RES   0x70000: results the snippets store
 */
#define BASE 0x6000000000
#define LOG (BASE + 0x60000)
#define FLAGS (BASE + 0x68000)
#define RES (BASE + 0x70000)
#define CBIT 0x8000000000
#define PVALIDATE .byte 0xf2, 0x0f, 0x01, 0xff
#define RMPADJUST .byte 0xf3, 0x0f, 0x01, 0xfe
#define VMGEXIT .byte 0xf3, 0x0f, 0x01, 0xd9
#define HC_DONE mov $1, %eax; .byte 0x0f, 0x0b, 'S', 'H'

	.section .rodata
	.balign 16
	.code64
	.globl snip_start, snip_end
snip_start:

/* ---- the #VC handler: logs, then skips the instruction or fixes the fault */
	.globl vc64
vc64:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	/* 6 pushes: error code at 48(%rsp), RIP at 56(%rsp) */
	movabs $LOG, %rbx
	mov (%rbx), %rcx
	mov %rcx, %rdx
	shl $5, %rdx
	lea 8(%rbx,%rdx), %rdx
	mov 48(%rsp), %rax
	mov %rax, (%rdx)
	mov 56(%rsp), %rax
	mov %rax, 8(%rdx)
	mov %cr2, %rax
	mov %rax, 16(%rdx)
	mov %rsp, 24(%rdx)
	inc %rcx
	mov %rcx, (%rbx)
	mov 48(%rsp), %rax
	cmp $0x404, %rax
	je .Lvalidate
	cmp $0x400, %rax
	je .Lskip2		/* the MMIO snippet's access is mov (%rsi),%eax: 2 bytes */
	mov 56(%rsp), %rsi
	movzbl (%rsi), %edi
	cmp $0x0f, %edi		/* 0F xx: CPUID, RDMSR, WRMSR, WBINVD */
	je .Lskip2
	cmp $0xe4, %edi		/* E4..E7: IN/OUT imm8 */
	jb .Lskip1
	cmp $0xe7, %edi
	jbe .Lskip2
.Lskip1:			/* EC..EF (IN/OUT dx), 6C..6F (INS/OUTS) */
	mov $1, %eax
	jmp .Lnest
.Lskip2:
	mov $2, %eax
.Lnest:
	cmpq $0x7b, 48(%rsp)
	jne .Ladvance
	movabs $FLAGS, %rdi
	cmpq $0, (%rdi)
	je .Ladvance
	movq $0, (%rdi)
	push %rax
	.globl vc64_nested_cpuid
vc64_nested_cpuid:
	cpuid			/* a #VC inside the #VC handler */
	pop %rax
.Ladvance:
	add %rax, 56(%rsp)
	jmp .Lreturn
.Lvalidate:			/* #VC 0x404: validate the page, then re-execute the access */
	mov %cr2, %rax
	and $-4096, %rax
	xor %ecx, %ecx
	mov $1, %edx
	PVALIDATE
.Lreturn:
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $8, %rsp
	iretq

done:
	HC_DONE
1:	jmp 1b

/* ---- CPUID: #VC 0x72 */
	.globl t_cpuid, t_cpuid_at
t_cpuid:
	mov $0x8000001f, %eax
	xor %ecx, %ecx
t_cpuid_at:
	cpuid
	jmp done

/* ---- MSRs: EFER, KERNEL_GS_BASE native; GHCB and SEV_STATUS from the model; 0x1B #VC 0x7C */
	.globl t_msr, t_msr_rd, t_msr_wr
t_msr:
	movabs $RES, %rbx
	mov $0xc0000080, %ecx
	rdmsr
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, 0(%rbx)
	mov $0xc0010130, %ecx
	mov $0x12345000, %eax
	mov $0x1, %edx
	wrmsr
	xor %eax, %eax
	xor %edx, %edx
	rdmsr
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, 8(%rbx)
	mov $0xc0010131, %ecx
	rdmsr
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, 16(%rbx)
	mov $0xc0000102, %ecx
	mov $0xabcd0000, %eax
	mov $0x7f, %edx
	wrmsr
	xor %eax, %eax
	xor %edx, %edx
	rdmsr
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, 24(%rbx)
	mov $0x1b, %ecx
t_msr_rd:
	rdmsr
t_msr_wr:
	wrmsr
	jmp done

/* ---- port I/O: #VC 0x7B for IN/OUT imm8, IN/OUT dx, INSB, OUTSB */
	.globl t_io, t_io_a, t_io_b, t_io_c, t_io_d, t_io_e, t_io_f
t_io:
t_io_a:
	in $0x80, %al
t_io_b:
	out %al, $0x80
	mov $0x3f8, %edx
t_io_c:
	in %dx, %al
t_io_d:
	out %al, %dx
	movabs $RES, %rdi
	movabs $RES, %rsi
t_io_e:
	insb
t_io_f:
	outsb
	jmp done

/* ---- WBINVD: #VC 0x89 */
	.globl t_wbinvd, t_wbinvd_at
t_wbinvd:
t_wbinvd_at:
	wbinvd
	jmp done

/* ---- RDRAND/RDSEED: emulated, CF=1, deterministic per seed */
	.globl t_rdrand
t_rdrand:
	movabs $RES, %rbx
	xor %esi, %esi
	rdrand %rax
	setc %sil
	mov %rax, 0(%rbx)
	mov %rsi, 8(%rbx)
	mov $-1, %rcx
	rdrand %ecx		/* 32-bit: zero-extends */
	mov %rcx, 16(%rbx)
	rdseed %rdx
	mov %rdx, 24(%rbx)
	mov $0x1111222233334444, %r9
	rdrand %r9w		/* 16-bit, REX.B: the upper 48 bits stay */
	mov %r9, 32(%rbx)
	jmp done

/* ---- PVALIDATE on a launched (validated) page: rescind, validate, validate again */
	.globl t_pvalidate, t_pvalidate_at
t_pvalidate:
	movabs $RES, %rbx
	movabs $(0x800000 | CBIT), %rax
	xor %ecx, %ecx
	xor %edx, %edx
t_pvalidate_at:
	PVALIDATE
	setc %sil
	mov %rax, 0(%rbx)
	movzbq %sil, %rsi
	mov %rsi, 8(%rbx)
	movabs $(0x800000 | CBIT), %rax
	mov $1, %edx
	PVALIDATE
	setc %sil
	mov %rax, 16(%rbx)
	movzbq %sil, %rsi
	mov %rsi, 24(%rbx)
	movabs $(0x800000 | CBIT), %rax
	PVALIDATE
	setc %sil
	mov %rax, 32(%rbx)
	movzbq %sil, %rsi
	mov %rsi, 40(%rbx)
	jmp done

/* ---- RMPADJUST: VMPL1 read permission on a validated page, then on VMPL0 (refused) */
	.globl t_rmpadjust
t_rmpadjust:
	movabs $RES, %rbx
	movabs $(0x801000 | CBIT), %rax
	xor %ecx, %ecx
	mov $0x101, %edx	/* target VMPL 1, perms: read */
	RMPADJUST
	mov %rax, 0(%rbx)
	movabs $(0x801000 | CBIT), %rax
	mov $0x100, %edx	/* target VMPL 0: not below the caller */
	RMPADJUST
	mov %rax, 8(%rbx)
	jmp done

/* ---- VMGEXIT: GHCB MSR protocol SEV information request (0x002) */
	.globl t_vmgexit
t_vmgexit:
	movabs $RES, %rbx
	mov $0xc0010130, %ecx
	mov $0x002, %eax
	xor %edx, %edx
	wrmsr
	VMGEXIT
	rdmsr
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, 0(%rbx)
	jmp done

/* ---- VMGEXIT loop for the benchmark: RDI iterations of request/response */
	.globl t_vmgexit_loop
t_vmgexit_loop:
	mov $0xc0010130, %ecx
1:	mov $0x002, %eax
	xor %edx, %edx
	wrmsr
	VMGEXIT
	dec %rdi
	jnz 1b
	jmp done

/* ---- private read of an unvalidated page: #VC 0x404, handler validates, re-executed */
	.globl t_404, t_404_at
t_404:
	movabs $RES, %rbx
	movabs $(0x200000 | CBIT), %rsi
t_404_at:
	mov (%rsi), %rax
	mov %rax, 0(%rbx)
	movq $1, 8(%rbx)
	jmp done

/* ---- read of MMIO: #VC 0x400 (NPF, reserved NPT entry) */
	.globl t_400, t_400_at
t_400:
	movabs $RES, %rbx
	xor %ecx, %ecx
	mov $0xa0000, %esi
	inc %rcx		/* mid-block: the engine must not re-run this (fault_rip) */
t_400_at:
	mov (%rsi), %eax
	mov %rcx, 0(%rbx)
	jmp done

/* ---- nested: the #VC 0x7B handler runs CPUID (FLAGS set by the test) */
	.globl t_nested, t_nested_at
t_nested:
	movabs $RES, %rbx
	mov %rsp, 0(%rbx)
t_nested_at:
	in $0x80, %al
	mov %rsp, 8(%rbx)
	jmp done

/* ---- a #UD nobody handles, and an endless loop (the budget ends it) */
	.globl t_ud, t_spin
t_ud:
	ud2
	jmp done
t_spin:
	jmp t_spin

/* ---- store-heavy loop for the benchmark: RDI iterations, 1 store per 5 instructions */
	.globl t_stores
t_stores:
	movabs $(0x800000 | CBIT), %rsi
	xor %eax, %eax
1:	mov %rax, (%rsi,%rax,8)
	inc %rax
	and $0x1ff, %rax
	dec %rdi
	jnz 1b
	jmp done

snip_end:
	.section .note.GNU-stack, "", @progbits
