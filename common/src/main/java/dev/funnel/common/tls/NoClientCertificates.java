package dev.funnel.common.tls;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The trust of a TLS server that never asks for a client certificate: it trusts no one. Given to
 * such servers so that their TLS context does not load the JDK's default trust store instead
 * (Netty's OpenSSL server context does when given none, and keeps it): ~150 parsed CA certificates,
 * about 1 MiB of live heap in a gateway, and their parsing at start.
 */
public final class NoClientCertificates extends X509ExtendedTrustManager {

  public static final NoClientCertificates INSTANCE = new NoClientCertificates();

  private static final X509Certificate[] NONE = new X509Certificate[0];

  private NoClientCertificates() {
  }

  private static CertificateException refused() {
    return new CertificateException("this server takes no client certificates");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    throw refused();
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    throw refused();
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    throw refused();
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    throw refused();
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    throw refused();
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    throw refused();
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return NONE;
  }
}
