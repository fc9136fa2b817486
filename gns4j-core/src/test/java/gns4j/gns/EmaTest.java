package gns4j.gns;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class EmaTest {

    @Test
    void undefinedBeforeFirstUpdateThenBiasCorrected() {
        Ema e = new Ema();
        assertEquals(0.99, e.alpha());
        assertNull(e.value());
        e.update(5);
        assertEquals(5, e.value(), 1e-12); // uncorrected it would be 0.05
        e.update(1);
        // m = 0.99·0.01·5 + 0.01·1, w = 1 − 0.99² → (0.99·5 + 1) / 1.99
        assertEquals((0.99 * 5 + 1) / 1.99, e.value(), 1e-12);
    }

    @Test
    void constantInputGivesTheConstant() {
        Ema e = new Ema(0.9);
        for (int i = 0; i < 1000; i++) {
            e.update(3.25);
            assertEquals(3.25, e.value(), 1e-12);
        }
    }

    @Test
    void forgetsWithAlpha() {
        Ema last = new Ema(0);
        last.update(1);
        last.update(7);
        assertEquals(7, last.value());

        Ema e = new Ema(0.5);
        for (int i = 0; i < 60; i++) e.update(1);
        e.update(3); // 0.5·1 + 0.5·3 once the correction has vanished
        assertEquals(2, e.value(), 1e-12);
    }

    @Test
    void restoredStateContinuesExactly() {
        Ema a = new Ema(), b = new Ema();
        for (int i = 0; i < 7; i++) a.update(i * i);
        b.restore(a.state());
        a.update(2.5);
        b.update(2.5);
        assertEquals(a.value(), b.value());
        assertEquals(a.state(), b.state());
    }

    @Test
    void rejectsInvalidArguments() {
        assertThrows(IllegalArgumentException.class, () -> new Ema(1));
        assertThrows(IllegalArgumentException.class, () -> new Ema(-0.1));
        assertThrows(IllegalArgumentException.class, () -> new Ema(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> new Ema().update(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> new Ema.State(1, 0));
        assertThrows(IllegalArgumentException.class, () -> new Ema.State(1, 1.5));
    }
}
