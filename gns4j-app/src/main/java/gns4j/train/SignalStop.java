package gns4j.train;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * SIGINT/SIGTERM during a run: the JVM starts its shutdown and runs this hook, which asks the trainer to stop after
 * the current step and then waits (up to {@link #MAX_WAIT_MINUTES}) until the run has written its checkpoint and
 * released its folder, so the process ends only after that (exit status 130 or 143, as for any signal). Removed
 * again when the run ends normally. Standard API only: no sun.misc.Signal.
 *
 * <p>{@link Trainer#run} installs one for itself; a command that prints after the run installs it around both
 * ({@link #install}), so the process does not end before its last line is out.
 */
public final class SignalStop implements AutoCloseable {
    public static final int MAX_WAIT_MINUTES = 10;

    private final Thread hook;
    private final CountDownLatch runEnded = new CountDownLatch(1);

    /** Handles SIGINT/SIGTERM for {@code trainer} until closed (its run then installs none of its own). */
    public static SignalStop install(Trainer trainer) {
        SignalStop s = new SignalStop(trainer);
        trainer.signals(s);
        return s;
    }

    SignalStop(Trainer trainer) {
        hook = new Thread(() -> {
            trainer.requestStop();
            if (trainer.writer()) { // of data-parallel ranks, the one that prints and writes the checkpoint
                System.err.println();
                System.err.println("gns4j: stop requested: finishing the current step, then writing a checkpoint");
            }
            try {
                runEnded.await(MAX_WAIT_MINUTES, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "gns4j-stop");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    @Override
    public void close() {
        runEnded.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down (that is why the run ended): the hook returns now
        }
    }
}
