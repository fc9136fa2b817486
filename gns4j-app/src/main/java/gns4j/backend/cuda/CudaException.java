package gns4j.backend.cuda;

/** A failed CUDA driver, NVRTC or cuBLASLt call, naming the call, the library's error string and the status code. */
public final class CudaException extends RuntimeException {
    public final String call;
    public final int code;

    CudaException(String call, int code, String error) {
        super(message(call, code, error));
        this.call = call;
        this.code = code;
    }

    static String message(String call, int code, String error) {
        String what = error == null || error.isBlank() ? "unknown error" : error.strip();
        return call + " failed: " + what + " (status " + code + ")";
    }
}
