package gns4j.parallel;

/** A collective that could not complete: a rank failed or timed out, or ranks called mismatched collectives. */
public final class CommunicatorException extends RuntimeException {
    /** The rank that failed first, or -1 when not known. */
    public final int failedRank;

    public CommunicatorException(int failedRank, String message, Throwable cause) {
        super(message, cause);
        this.failedRank = failedRank;
    }
}
