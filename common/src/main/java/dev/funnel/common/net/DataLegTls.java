package dev.funnel.common.net;

import io.netty.handler.ssl.OpenSsl;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;
import java.util.Locale;

/**
 * The TLS engine of the gateway ⇄ node connections (control and links) and the frontend ⇄ gateway
 * links: OpenSSL (BoringSSL from netty-tcnative) when it loads, else the JDK's. Handshakes happen
 * once per link connection, not per tunnel, but every byte is encrypted and decrypted once more on
 * this leg: bench/README.md has what OpenSSL saves over the JDK's pure-Java EC
 * and X25519 and its AES-GCM. The two engines interoperate, so each end picks its own.
 *
 * <p>{@code -Dfunnel.tls.engine=jdk} forces the JDK's engine (to compare, or to rule OpenSSL out).
 */
public final class DataLegTls {

  public static final String ENGINE_PROPERTY = "funnel.tls.engine";

  private DataLegTls() {
  }

  /** True when this process's gateway ⇄ node connections use OpenSSL. */
  public static boolean usesOpenSsl() {
    String forced = System.getProperty(ENGINE_PROPERTY, "").toLowerCase(Locale.ROOT);
    return !forced.equals("jdk") && OpenSsl.isAvailable();
  }

  /** Engine options for a gateway's listener or a node's dialer. */
  public static SSLEngineOptions engine() {
    if (usesOpenSsl()) {
      return new OpenSSLEngineOptions();
    }
    // The JDK's handshake crypto takes milliseconds: on a worker, the event loop keeps splicing and
    // answering offers meanwhile.
    return new JdkSSLEngineOptions().setUseWorkerThread(true);
  }

  /** For the start-up log: which engine, and why not OpenSSL when it is not. */
  public static String describe() {
    if (usesOpenSsl()) {
      return "OpenSSL (" + OpenSsl.versionString() + ")";
    }
    Throwable cause = OpenSsl.unavailabilityCause();
    return "JDK TLS (" + (OpenSsl.isAvailable() ? ENGINE_PROPERTY + "=jdk" : String.valueOf(cause)) + ")";
  }
}
