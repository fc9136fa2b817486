package gns4j.backend.cuda;

/** libnccl could not be loaded or lacks a function; {@link Nccl#available()} reports it as false. */
public final class NcclUnavailableException extends RuntimeException {
    public NcclUnavailableException(String message) { super(message); }
}
