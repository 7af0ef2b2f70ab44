package dev.funnel.registry;

/**
 * An admin operation refused, with the error code the REST API answers with. Thrown (as a failed
 * future) by {@link RegistryService}'s admin operations.
 */
public final class AdminException extends RuntimeException {

  /** The codes of the REST API's {@code {"error":{"code":…}}} that an operation can refuse with. */
  public enum Code {
    BAD_REQUEST(400), NOT_FOUND(404), CONFLICT(409);

    public final int status;

    Code(int status) {
      this.status = status;
    }
  }

  private final Code code;

  public AdminException(Code code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  public Code code() {
    return code;
  }

  public static AdminException badRequest(String message) {
    return new AdminException(Code.BAD_REQUEST, message);
  }

  public static AdminException notFound(String message) {
    return new AdminException(Code.NOT_FOUND, message);
  }

  public static AdminException conflict(String message) {
    return new AdminException(Code.CONFLICT, message);
  }
}
