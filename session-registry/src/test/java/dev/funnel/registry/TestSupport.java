package dev.funnel.registry;

import dev.funnel.common.bus.FailureCode;
import dev.funnel.common.bus.NodeLogin;
import dev.funnel.common.bus.Messages;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Bounded waits on futures from the test thread, and nodes that can prove their key. */
final class TestSupport {

  /**
   * Every wait in these tests is bounded by this: a bound on a hang, not a timing assertion, so it
   * is long enough for a starved machine (a cluster member's start took over 10 s under load).
   */
  static final long WAIT_SECONDS = 30;

  private TestSupport() {
  }

  static void registerCodecs(Vertx vertx) {
    try {
      Messages.registerCodecs(vertx.eventBus());
    } catch (IllegalStateException alreadyRegistered) {
      // the same Vertx reused
    }
  }

  static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError("expected success, failed with " + e.getCause(), e.getCause());
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("no answer within " + WAIT_SECONDS + " s", e);
    }
  }

  static Throwable awaitFailure(Future<?> future) {
    try {
      Object result = future.toCompletionStage().toCompletableFuture().get(WAIT_SECONDS, TimeUnit.SECONDS);
      throw new AssertionError("expected a failure, got " + result);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("no answer within " + WAIT_SECONDS + " s", e);
    }
  }

  /** The failure code a request failed with (-1 when it was not a coded recipient failure). */
  static int failureCode(Future<?> future) {
    return FailureCode.of(awaitFailure(future)).orElse(-1);
  }

  /** A node with its own EC P-256 node key. */
  static final class TestNode {
    final KeyPair pair;

    TestNode() {
      try {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        pair = g.generateKeyPair();
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }

    String publicKey() {
      return Base64.getEncoder().encodeToString(pair.getPublic().getEncoded());
    }

    String sign(String challenge) {
      try {
        Signature s = Signature.getInstance("SHA256withECDSA");
        s.initSign(pair.getPrivate());
        s.update(challenge.getBytes(StandardCharsets.UTF_8));
        return Base64.getEncoder().encodeToString(s.sign());
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }

    /** A login with a fresh challenge and a valid proof. */
    NodeLogin login(String authKey, String hostname, List<Integer> ports, String gatewayId) {
      String challenge = UUID.randomUUID().toString();
      return new NodeLogin(authKey, hostname, ports, gatewayId, publicKey(), challenge, sign(challenge));
    }
  }
}
