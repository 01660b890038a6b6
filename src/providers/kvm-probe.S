/*
 * The guest of cclab's KVM probe (src/providers/kvm-probe.ts holds its bytes; test/providers/kvm-probe.test.ts
 * assembles this file and compares): a 64 KiB firmware image that QEMU maps at the top of memory.
 * From the reset vector it goes from real mode to 32-bit protected mode, builds page tables over the
 * first 4 GiB with 2 MiB pages, enters 64-bit long mode and writes 0x2a to isa-debug-exit (port
 * 0xf4): QEMU then exits with status (0x2a << 1) | 1 = 85. It reports its progress on the debug
 * console (port 0xe9): R (real mode), P (protected mode), L (long mode).
 *
 * Assemble: as --32 -o probe.o kvm-probe.S && ld -m elf_i386 -Ttext 0 --oformat binary -e 0 -o probe.bin probe.o
 */
    .code16
    .org 0
start16:
    cli
    movb $'R', %al
    outb %al, $0xe9
    lgdtl %cs:gdtr
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    .byte 0x66, 0xea
    .long 0xffff0000 + pm32
    .word 0x08
    .code32
pm32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movb $'P', %al
    outb %al, $0xe9
    /* page tables: PML4 0x1000, PDPT 0x2000, 4 PDs 0x3000..0x6fff, 2 MiB pages over 4 GiB */
    movl $0x1000, %edi
    xorl %eax, %eax
    movl $(0x6000/4), %ecx
    rep stosl
    movl $0x2003, 0x1000
    movl $0x3003, 0x2000
    movl $0x4003, 0x2008
    movl $0x5003, 0x2010
    movl $0x6003, 0x2018
    movl $0x3000, %edi
    movl $0x83, %eax
    movl $2048, %ecx
1:  movl %eax, (%edi)
    movl $0, 4(%edi)
    addl $0x200000, %eax
    addl $8, %edi
    loop 1b
    movl %cr4, %eax
    orl $0x20, %eax
    movl %eax, %cr4
    movl $0x1000, %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx
    rdmsr
    orl $0x100, %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80000000, %eax
    movl %eax, %cr0
    ljmp $0x18, $(0xffff0000 + lm64)
    .code64
lm64:
    movb $'L', %al
    outb %al, $0xe9
    movb $0x2a, %al
    outb %al, $0xf4
2:  hlt
    jmp 2b
    .balign 8
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff
    .quad 0x00cf92000000ffff
    .quad 0x00af9a000000ffff
gdtr:
    .word gdtr - gdt - 1
    .long 0xffff0000 + gdt
    .org 0xfff0
    .code16
reset:
    jmp start16
    .org 0x10000
