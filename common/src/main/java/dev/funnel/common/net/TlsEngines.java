package dev.funnel.common.net;

import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;

/**
 * The TLS engine for Funnel's own TLS legs (node ⇄ gateway): OpenSSL (BoringSSL through
 * netty-tcnative) when it is on the class path, as it is in the {@code funnel} jar, else the JDK's.
 *
 * <p>Why: with the JDK engine a TLS 1.3 handshake spends most of its time in pure-Java X25519 and
 * P-256 arithmetic, and every tunnel costs a new data connection, so a handshake on each side per
 * tunnel; BoringSSL does the same work several times faster (measured with {@code ./bench/run}, see
 * bench/README.md). Bulk AES-GCM is also cheaper through OpenSSL than through the JDK's SSLEngine.
 */
public final class TlsEngines {

  private TlsEngines() {
  }

  /** OpenSSL when available, else the JDK engine; never null. */
  public static SSLEngineOptions preferred() {
    return OpenSSLEngineOptions.isAvailable() ? new OpenSSLEngineOptions() : new JdkSSLEngineOptions();
  }

  /** "OpenSSL" or "JDK": what {@link #preferred()} picks in this process. */
  public static String describe() {
    return OpenSSLEngineOptions.isAvailable() ? "OpenSSL" : "JDK";
  }
}
