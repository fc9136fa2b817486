package gns4j.diagnostics;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Host-side references of the kernel checks, which need no GPU. */
class KernelCheckTest {
    @Test
    void geluCheckReferences() {
        assertEquals(0.022750131948179195, KernelCheck.normalCdf(-2), 1e-13);
        assertEquals(2.326290790355401e-4, KernelCheck.normalCdf(-3.5), 1e-13);
        assertEquals((short) 0x3f80, KernelCheck.bf16(1));
        assertEquals((short) 0xc050, KernelCheck.bf16(-3.25));
        assertEquals((short) 0x3f80, KernelCheck.bf16(1 + 1.0 / 256)); // ties round to even
        assertEquals((short) 0x3f82, KernelCheck.bf16(1 + 3.0 / 256));
        assertEquals((short) 0x3f81, KernelCheck.bf16(1 + 1.0 / 128));
    }
}
