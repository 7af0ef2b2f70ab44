package dev.funnel.registry.store;

/** The store could not do what was asked (I/O, a broken database, a schema it does not know). */
public final class StoreException extends RuntimeException {

  public StoreException(String message, Throwable cause) {
    super(message, cause);
  }

  public StoreException(String message) {
    super(message);
  }
}
