package gns4j.backend.cuda;

/** A failed NCCL call, naming the call, NCCL's error string and the ncclResult_t code. */
public final class NcclException extends RuntimeException {
    public final String call;
    public final int code;

    public NcclException(String call, int code, String error) {
        super(call + " failed: " + (error == null || error.isBlank() ? Nccl.resultName(code) : error.strip())
                + " (" + Nccl.resultName(code) + ", status " + code + ")");
        this.call = call;
        this.code = code;
    }
}
