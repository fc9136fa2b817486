package gns4j;

/**
 * A problem with the user's input (bad flag, config value or data file). The CLI prints its message as one line
 * on stderr and exits with status 2; nothing is written before inputs are validated.
 */
public final class UserError extends RuntimeException {
    public UserError(String message) { super(message); }

    public UserError(String message, Throwable cause) { super(message, cause); }
}
