package gns4j.cli;

import gns4j.UserError;
import gns4j.backend.cuda.CudaBackend;

/** CLI guard for commands that only make sense on a GPU. */
final class Cuda {
    private Cuda() {}

    static void require() {
        if (!CudaBackend.available()) throw new UserError(CudaBackend.unavailableReason());
    }
}
