package dev.funnel.node;

import dev.funnel.common.peerapi.ControlFrames;
import dev.funnel.common.peerapi.ControlMessage;
import dev.funnel.common.peerapi.ControlMessage.Challenge;
import dev.funnel.common.peerapi.ControlMessage.DataHello;
import dev.funnel.common.peerapi.ControlMessage.Hello;
import dev.funnel.common.peerapi.ControlMessage.Ping;
import dev.funnel.common.peerapi.ControlMessage.Pong;
import dev.funnel.common.peerapi.ControlMessage.Refused;
import dev.funnel.common.peerapi.ControlMessage.ServeUpdate;
import dev.funnel.common.peerapi.ControlMessage.SessionLost;
import dev.funnel.common.peerapi.ControlMessage.SignReply;
import dev.funnel.common.peerapi.ControlMessage.SignRequest;
import dev.funnel.common.peerapi.ControlMessage.Welcome;
import dev.funnel.common.peerapi.FrameReader;
import dev.funnel.common.peerapi.IngressAnswer;
import dev.funnel.common.tls.DevCa;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.PemKeyCertOptions;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.BooleanSupplier;

/**
 * A gateway good enough to test the node against: real TLS with a certificate from the
 * development CA, Challenge → Hello (the proof is verified with the node's public key) → Welcome,
 * DataHello connections collected as {@link DataPeer}s, ServeUpdate answered with a Welcome.
 * State is guarded by this object's monitor; {@link #when} waits for a condition without sleeping.
 */
final class FakeGateway {

  static final String DOMAIN = "demo.funnel.localhost";

  private final Vertx vertx;
  private final DevCa ca;
  private NetServer server;

  /** The id this gateway names its sessions with in Welcome (with the login's epoch). */
  final String gatewayId = "fake-" + UUID.randomUUID().toString().substring(0, 8);

  // Behaviour, set before the node connects.
  volatile int poolSize = 2;
  volatile long heartbeatMillis = 5_000;
  volatile Refused refuseWith;
  volatile boolean answerPings = true;

  // What happened.
  private final List<Hello> hellos = new ArrayList<>();
  private final List<Boolean> proofsValid = new ArrayList<>();
  private final List<ServeUpdate> serveUpdates = new ArrayList<>();
  private final List<SessionLost> lossReports = new ArrayList<>();
  private final List<Long> pongs = new ArrayList<>();
  private final List<NetSocket> controls = new ArrayList<>();
  private final List<DataPeer> dataPeers = new ArrayList<>();
  private final List<String> sessionIds = new ArrayList<>();
  private final List<Watch> watches = new ArrayList<>();
  private String dataSecret;

  private record Watch(BooleanSupplier condition, Promise<Void> promise) {
  }

  FakeGateway(Vertx vertx, DevCa ca) {
    this.vertx = vertx;
    this.ca = ca;
  }

  Future<FakeGateway> listen() {
    DevCa.KeyAndChain cert = ca.issue(List.of("localhost", "127.0.0.1"), Duration.ofDays(1));
    server = vertx.createNetServer(new NetServerOptions()
        .setHost("127.0.0.1")
        .setPort(0)
        .setSsl(true)
        .setKeyCertOptions(new PemKeyCertOptions()
            .setKeyValue(Buffer.buffer(cert.keyPem()))
            .setCertValue(Buffer.buffer(cert.chainPem()))));
    server.connectHandler(this::accept);
    return server.listen().map(s -> this);
  }

  int port() {
    return server.actualPort();
  }

  Future<Void> close() {
    return server == null ? Future.succeededFuture() : server.close();
  }

  /** Completes once {@code condition} holds (checked now and after every event). */
  synchronized Future<Void> when(BooleanSupplier condition) {
    if (condition.getAsBoolean()) {
      return Future.succeededFuture();
    }
    Promise<Void> promise = Promise.promise();
    watches.add(new Watch(condition, promise));
    return promise.future();
  }

  void changed() {
    List<Watch> met = new ArrayList<>();
    synchronized (this) {
      for (Iterator<Watch> it = watches.iterator(); it.hasNext(); ) {
        Watch w = it.next();
        if (w.condition().getAsBoolean()) {
          it.remove();
          met.add(w);
        }
      }
    }
    met.forEach(w -> w.promise().tryComplete());
  }

  synchronized List<Hello> hellos() {
    return List.copyOf(hellos);
  }

  synchronized List<Boolean> proofsValid() {
    return List.copyOf(proofsValid);
  }

  synchronized List<ServeUpdate> serveUpdates() {
    return List.copyOf(serveUpdates);
  }

  synchronized List<SessionLost> lossReports() {
    return List.copyOf(lossReports);
  }

  /** The epoch this gateway gave its latest session (one per login). */
  synchronized long epoch() {
    return sessionIds.size();
  }

  synchronized List<Long> pongs() {
    return List.copyOf(pongs);
  }

  synchronized int logins() {
    return sessionIds.size();
  }

  synchronized List<DataPeer> dataPeers() {
    return List.copyOf(dataPeers);
  }

  /** Data connections of the latest session that are open and not given an offer. */
  synchronized List<DataPeer> idle() {
    String current = sessionIds.isEmpty() ? null : sessionIds.get(sessionIds.size() - 1);
    List<DataPeer> out = new ArrayList<>();
    for (DataPeer p : dataPeers) {
      if (!p.taken && !p.closed && p.sessionId.equals(current)) {
        out.add(p);
      }
    }
    return out;
  }

  /** Takes one idle data connection for an offer. */
  synchronized DataPeer take() {
    List<DataPeer> idle = idle();
    if (idle.isEmpty()) {
      throw new IllegalStateException("no idle data connection");
    }
    DataPeer peer = idle.get(0);
    peer.taken = true;
    return peer;
  }

  /** Closes the latest control connection, as a gateway that died would. */
  synchronized void closeControl() {
    controls.get(controls.size() - 1).close();
  }

  synchronized void sendControl(ControlMessage message) {
    controls.get(controls.size() - 1).write(message.encode());
  }

  private void accept(NetSocket socket) {
    FrameReader reader = new FrameReader(ControlFrames.DEFAULT_MAX_FRAME_BYTES);
    String nonce = UUID.randomUUID().toString();
    Connection connection = new Connection(socket, reader, nonce);
    socket.handler(connection::onBytes);
    socket.closeHandler(v -> connection.onClose());
    socket.write(new Challenge(nonce).encode());
  }

  private final class Connection {
    private final NetSocket socket;
    private final FrameReader reader;
    private final String nonce;
    private DataPeer data;

    Connection(NetSocket socket, FrameReader reader, String nonce) {
      this.socket = socket;
      this.reader = reader;
      this.nonce = nonce;
    }

    void onBytes(Buffer chunk) {
      if (data != null) {
        data.onBytes(chunk);
        return;
      }
      List<ControlMessage> messages;
      try {
        messages = reader.feed(chunk);
      } catch (ControlMessage.InvalidMessage e) {
        socket.close();
        return;
      }
      for (ControlMessage m : messages) {
        if (data != null) {
          break;
        }
        onMessage(m);
      }
      if (data != null && reader.remainder().length() > 0) {
        data.onBytes(reader.remainder().copy());
      }
    }

    void onMessage(ControlMessage m) {
      synchronized (FakeGateway.this) {
        if (m instanceof Hello hello) {
          hellos.add(hello);
          boolean valid = verify(hello);
          proofsValid.add(valid);
          controls.add(socket);
          if (!valid) {
            socket.write(new Refused("BAD_NODE_KEY", "proof does not verify").encode());
            socket.close();
          } else if (refuseWith != null) {
            socket.write(refuseWith.encode());
            socket.close();
          } else {
            String sessionId = "session-" + (sessionIds.size() + 1);
            sessionIds.add(sessionId);
            dataSecret = UUID.randomUUID().toString();
            socket.write(welcome(hello.hostname(), hello.ports()).encode());
          }
        } else if (m instanceof DataHello hello) {
          if (!sessionIds.contains(hello.sessionId()) || !hello.dataSecret().equals(dataSecret)) {
            socket.close();
          } else {
            data = new DataPeer(FakeGateway.this, socket, hello.sessionId());
            dataPeers.add(data);
          }
        } else if (m instanceof Ping ping) {
          if (answerPings) {
            socket.write(new Pong(ping.seq()).encode());
          }
        } else if (m instanceof Pong pong) {
          pongs.add(pong.seq());
        } else if (m instanceof SignRequest request) {
          String fqdn = hellos.get(hellos.size() - 1).hostname() + "." + DOMAIN;
          try {
            socket.write(new SignReply(ca.signRequest(request.csrPem(), Set.of(fqdn), Duration.ofDays(1)), null)
                .encode());
          } catch (IllegalArgumentException e) {
            socket.write(new SignReply(null, e.getMessage()).encode());
          }
        } else if (m instanceof SessionLost lost) {
          lossReports.add(lost);
        } else if (m instanceof ServeUpdate update) {
          serveUpdates.add(update);
          String hostname = hellos.get(hellos.size() - 1).hostname();
          socket.write(welcome(hostname, update.ports()).encode());
        }
      }
      changed();
    }

    void onClose() {
      if (data != null) {
        synchronized (FakeGateway.this) {
          data.closed = true;
        }
      }
      changed();
    }

    private Welcome welcome(String hostname, List<Integer> ports) {
      return new Welcome(sessionIds.get(sessionIds.size() - 1), "node-" + hostname, hostname + "." + DOMAIN,
          dataSecret, heartbeatMillis, poolSize, ports, gatewayId, sessionIds.size());
    }

    private boolean verify(Hello hello) {
      try {
        PublicKey key = KeyFactory.getInstance("EC")
            .generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(hello.nodePublicKey())));
        Signature signature = Signature.getInstance("SHA256withECDSA");
        signature.initVerify(key);
        signature.update(nonce.getBytes(StandardCharsets.UTF_8));
        return signature.verify(Base64.getDecoder().decode(hello.proof()));
      } catch (Exception e) {
        return false;
      }
    }
  }

  /** A data connection that said DataHello: the test writes an offer and reads the node's answer. */
  static final class DataPeer {
    private final FakeGateway gateway;
    final NetSocket socket;
    final String sessionId;
    private final Buffer received = Buffer.buffer();
    volatile boolean closed;
    boolean taken;

    DataPeer(FakeGateway gateway, NetSocket socket, String sessionId) {
      this.gateway = gateway;
      this.socket = socket;
      this.sessionId = sessionId;
    }

    void onBytes(Buffer chunk) {
      synchronized (gateway) {
        received.appendBuffer(chunk);
      }
      gateway.changed();
    }

    Future<Void> write(Buffer bytes) {
      return socket.write(bytes);
    }

    Buffer received() {
      synchronized (gateway) {
        return received.copy();
      }
    }

    /** The node's answer status, once its head is complete. */
    Future<Integer> answer() {
      return gateway.when(() -> IngressAnswer.parse(received) instanceof IngressAnswer.Status || closed)
          .compose(v -> {
            synchronized (gateway) {
              if (IngressAnswer.parse(received) instanceof IngressAnswer.Status s) {
                return Future.succeededFuture(s.status());
              }
              return Future.failedFuture("closed without an answer");
            }
          });
    }

    /** Bytes after the answer's head (the target's stream on a 101). */
    Buffer afterAnswer() {
      synchronized (gateway) {
        if (IngressAnswer.parse(received) instanceof IngressAnswer.Status s) {
          return received.getBuffer(s.consumed(), received.length());
        }
        return Buffer.buffer();
      }
    }

    Future<Void> whenClosed() {
      return gateway.when(() -> closed);
    }
  }
}
