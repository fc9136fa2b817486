package gns4j.backend.cuda;

/**
 * The CUDA backend cannot start here (no driver, no GPU, a library missing). The message is one line meant for the
 * user as is, e.g. "CUDA backend unavailable: the CUDA driver found no GPU"; the CLI turns it into a UserError.
 */
public final class CudaUnavailableException extends RuntimeException {
    public CudaUnavailableException(String reason) { super("CUDA backend unavailable: " + reason); }
}
