package dev.funnel.gateway;

import static dev.funnel.gateway.FakeRegistry.EPOCH;
import static dev.funnel.gateway.FakeRegistry.FQDN;
import static dev.funnel.gateway.FakeRegistry.GOOD_KEY;
import static dev.funnel.gateway.FakeRegistry.NODE_ID;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.PortRefusals;
import dev.funnel.common.bus.TailnetPolicy;
import dev.funnel.common.bus.FailureCode;
import dev.funnel.common.bus.Messages;
import dev.funnel.common.bus.SessionLossReport;
import dev.funnel.common.bus.OpenFailure;
import dev.funnel.common.bus.OpenRequest;
import dev.funnel.common.bus.SessionKick;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.DataPlane;
import dev.funnel.common.net.GatewayLinks;
import dev.funnel.common.net.LinkTls;
import dev.funnel.common.net.LinkStreams;
import dev.funnel.common.net.PeekedConnection;
import dev.funnel.common.net.SplicedEnd;
import dev.funnel.common.net.OpenAnswer;
import dev.funnel.common.net.TunnelEnd;
import dev.funnel.common.options.GatewayOptions;
import dev.funnel.common.peerapi.ControlFrames;
import dev.funnel.common.peerapi.ControlMessage;
import dev.funnel.common.peerapi.ControlMessage.Bye;
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
import dev.funnel.common.peerapi.OpenStream;
import dev.funnel.common.peerapi.IngressOffer;
import dev.funnel.common.tls.DevCa;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslContext;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The gateway against a fake node (real TLS on 127.0.0.1) and a fake registry on the event bus. */
@ExtendWith(VertxExtension.class)
class GatewayVerticleTest {

  private static final String GATEWAY_ID = "gw-test";
  private static final String CLIENT = "203.0.113.7:53211";

  @TempDir
  static Path stateDir;
  private static DevCa ca;
  private static PemKeyCertOptions gatewayCert;

  private Vertx vertx;
  private NetClient client;
  private FakeRegistry registry;
  private GatewayVerticle gateway;
  private final GatewayLinks localLinks = new GatewayLinks();
  /** The TLS a node's link connections speak (the gateway's certificate checked against the test CA). */
  private static SslContext nodeTls;
  private String deploymentId;
  /** Between fake nodes and the gateway, in the tests that need their records read together. */
  private Forwarder forwarder;

  /** A node's control connection and the Welcome it got. */
  private record Control(NodeConnection connection, Welcome welcome) {
  }

  @BeforeAll
  static void makeCertificates() {
    ca = DevCa.loadOrCreate(stateDir);
    DevCa.KeyAndChain gatewayKey = ca.issue(List.of("localhost", "127.0.0.1"), Duration.ofDays(1));
    gatewayCert = new PemKeyCertOptions()
        .setKeyValue(Buffer.buffer(gatewayKey.keyPem()))
        .setCertValue(Buffer.buffer(gatewayKey.chainPem()));
    Vertx tlsVertx = Vertx.vertx();
    try {
      nodeTls = LinkTls.client(tlsVertx, new PemTrustOptions().addCertPath(ca.caPemPath().toString()), null);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    } finally {
      tlsVertx.close();
    }
  }

  @BeforeEach
  void setUp(Vertx vertx) {
    this.vertx = vertx;
    try {
      Messages.registerCodecs(vertx.eventBus());
    } catch (IllegalStateException alreadyRegistered) {
      // the same Vertx instance: codecs are there
    }
    client = vertx.createNetClient(new NetClientOptions()
        .setSsl(true)
        .setHostnameVerificationAlgorithm("HTTPS")
        .setTrustOptions(new PemTrustOptions().addCertPath(ca.caPemPath().toString())));
    registry = new FakeRegistry(vertx);
  }

  @org.junit.jupiter.api.AfterEach
  void closeForwarder() throws java.io.IOException {
    if (forwarder != null) {
      forwarder.close();
    }
  }

  // ---------------------------------------------------------------- login

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aNodeWithAGoodKeyIsWelcomed(VertxTestContext test) {
    deploy(options())
        .compose(v -> login())
        .map(then(control -> {
          Welcome welcome = control.welcome();
          assertThat(welcome.nodeId()).isEqualTo(NODE_ID);
          assertThat(welcome.fqdn()).isEqualTo(FQDN);
          assertThat(welcome.ports()).containsExactly(443);
          assertThat(welcome.heartbeatMillis()).isEqualTo(options().getHeartbeatMillis());
          assertThat(welcome.links()).isEqualTo(options().getLinksPerNode());
          assertThat(welcome.sessionId()).isNotEqualTo(welcome.dataSecret()).hasSizeGreaterThanOrEqualTo(20);
          assertThat(registry.logins).singleElement().satisfies(login -> {
            assertThat(login.gatewayId()).isEqualTo(GATEWAY_ID);
            assertThat(login.hostname()).isEqualTo("web");
            assertThat(login.authKey()).isEqualTo(GOOD_KEY);
            assertThat(login.challenge()).isNotBlank();
          });
          assertThat(gauge("funnel.gateway.node.sessions")).isEqualTo(1);
        }))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void theLoginCarriesTheChallengeTheGatewaySent(VertxTestContext test) {
    deploy(options())
        .compose(v -> connect())
        .compose(node -> node.next(Challenge.class).compose(challenge -> {
          node.send(hello(GOOD_KEY));
          return node.next(Welcome.class).map(challenge.nonce());
        }))
        .map(then(nonce -> assertThat(registry.logins.get(0).challenge()).isEqualTo(nonce)))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aBadKeyIsRefusedAndTheConnectionClosed(VertxTestContext test) {
    deploy(options())
        .compose(v -> connect())
        .compose(node -> node.next(Challenge.class).compose(challenge -> {
          node.send(hello("tskey-wrong"));
          return node.next(Refused.class);
        }).compose(refused -> {
          assertThat(refused.code()).isEqualTo("BAD_KEY");
          assertThat(refused.message()).doesNotContain("tskey-wrong");
          return node.closed();
        }))
        .map(then(v -> assertThat(gauge("funnel.gateway.node.sessions")).isZero()))
        .map(then(v -> assertThat(gateway.meterRegistry().get("funnel.gateway.logins")
            .tag("result", "bad_key").counter().count()).isEqualTo(1)))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aRegistryThatDoesNotAnswerMeansUnavailable(VertxTestContext test) {
    registry.loginAnswers = false;
    deploy(options().setRegistryTimeoutMillis(200))
        .compose(v -> connect())
        .compose(node -> node.next(Challenge.class).compose(challenge -> {
          node.send(hello(GOOD_KEY));
          return node.next(Refused.class);
        }).compose(refused -> {
          assertThat(refused.code()).isEqualTo("UNAVAILABLE");
          return node.closed();
        }))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void anotherProtocolVersionIsRefused(VertxTestContext test) {
    deploy(options())
        .compose(v -> connect())
        .compose(node -> node.next(Challenge.class).compose(challenge -> {
          node.send(new Hello(ControlMessage.VERSION + 1, GOOD_KEY, "web", List.of(443), null, null));
          return node.next(Refused.class);
        }).compose(refused -> {
          assertThat(refused.code()).isEqualTo("PROTOCOL");
          assertThat(registry.logins).isEmpty();
          return node.closed();
        }))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aConnectionThatSaysNothingIsClosedAfterTheLoginTimeout(VertxTestContext test) {
    deploy(options().setLoginTimeoutMillis(200))
        .compose(v -> connect())
        .compose(node -> node.next(Challenge.class).compose(challenge -> node.closed()))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aFirstFrameThatIsNotAHelloClosesTheConnection(VertxTestContext test) {
    Buffer http = Buffer.buffer("GET / HTTP/1.1\r\nHost: gateway\r\n\r\n");
    Buffer oversize = Buffer.buffer().appendInt(ControlFrames.DEFAULT_MAX_FRAME_BYTES + 1).appendString("{\"type\":");
    Buffer notJson = Buffer.buffer().appendInt(5).appendString("hello");
    Buffer ping = new Ping(1).encode();
    Buffer wrongTypes = ControlFrames.encode(new JsonObject().put("type", "hello").put("hostname", "web")
        .put("ports", "443"));
    deploy(options())
        .compose(v -> Future.all(List.of(http, oversize, notJson, ping, wrongTypes).stream()
            .map(bytes -> connect().compose(node -> node.next(Challenge.class).compose(challenge -> {
              node.write(bytes);
              return node.closed();
            })))
            .toList()))
        .map(then(v -> assertThat(registry.logins).isEmpty()))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void startRefusesOptionsWithoutACertificateOrWithAZeroWait(VertxTestContext test) {
    Future.all(
            expectFailure(deploy(options().setKeyCert(null))),
            expectFailure(deploy(options().setOfferTimeoutMillis(0))))
        .map(then(both -> {
          assertThat(both.<Throwable>resultAt(0)).hasMessageContaining("certificate");
          assertThat(both.<Throwable>resultAt(1)).hasMessageContaining("at least 1 ms");
        }))
        .onComplete(test.succeedingThenComplete());
  }

  // ---------------------------------------------------------------- session upkeep

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void theGatewayAnswersPingsAndPingsOnItsOwn(VertxTestContext test) {
    deploy(options().setHeartbeatMillis(100))
        .compose(v -> login())
        .compose(control -> {
          control.connection().send(new Ping(77));
          return control.connection().next(Pong.class)
              .compose(pong -> {
                assertThat(pong.seq()).isEqualTo(77);
                return control.connection().next(Ping.class);
              });
        })
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aSilentNodeIsDeadAfterTheSessionTimeout(VertxTestContext test) {
    deploy(options().setHeartbeatMillis(100).setSessionTimeoutMillis(400))
        .compose(v -> login())
        .compose(control -> control.connection().closed())
        .compose(v -> registry.firstClosedSession())
        .map(then(closed -> assertThat(closed.epoch()).isEqualTo(EPOCH)))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void theLeaseIsRenewed(VertxTestContext test) {
    registry.leaseMillis = 300;
    deploy(options())
        .compose(v -> login())
        .compose(control -> registry.firstRenewal())
        .map(then(renewal -> {
          assertThat(renewal.nodeId()).isEqualTo(NODE_ID);
          assertThat(renewal.gatewayId()).isEqualTo(GATEWAY_ID);
          assertThat(renewal.epoch()).isEqualTo(EPOCH);
        }))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aLeaseTheRegistryLostEndsTheSession(VertxTestContext test) {
    registry.leaseMillis = 300;
    registry.leaseKnown = false;
    deploy(options())
        .compose(v -> login())
        .compose(control -> control.connection().next(Bye.class).compose(bye -> {
          assertThat(bye.reason()).isEqualTo("lease lost");
          return control.connection().closed();
        }))
        .compose(v -> registry.firstClosedSession())
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void closingTheControlConnectionEndsTheSession(VertxTestContext test) {
    deploy(options())
        .compose(v -> login())
        .compose(control -> link(control.welcome(), h -> FakeNodeLink.ECHO).compose(data -> linksReach(1).compose(v -> {
          control.connection().socket.close();
          return registry.firstClosedSession().compose(closed -> {
            assertThat(closed.nodeId()).isEqualTo(NODE_ID);
            assertThat(closed.gatewayId()).isEqualTo(GATEWAY_ID);
            assertThat(closed.epoch()).isEqualTo(EPOCH);
            // an idle link connection closes with its session
            return data.closed();
          });
        })))
        .map(then(v -> {
          assertThat(gauge("funnel.gateway.node.sessions")).isZero();
          assertThat(gauge("funnel.gateway.link.connections")).isZero();
        }))
        .compose(v -> expectFailure(open()))
        .map(then(err -> assertThat(codeOf(err)).isEqualTo(OpenFailure.NODE_GONE.code())))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aKickSaysByeAndClosesTheSession(VertxTestContext test) {
    deploy(options())
        .compose(v -> login())
        .compose(control -> {
          vertx.eventBus().publish(Addresses.SESSION_KICK, new SessionKick(NODE_ID, "node removed by an admin"));
          return control.connection().next(Bye.class).compose(bye -> {
            assertThat(bye.reason()).isEqualTo("node removed by an admin");
            return control.connection().closed();
          });
        })
        .compose(v -> registry.firstClosedSession())
        .map(then(closed -> assertThat(closed.epoch()).isEqualTo(EPOCH)))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aNewerSessionOfTheSameNodeReplacesTheOlder(VertxTestContext test) {
    deploy(options())
        .compose(v -> login())
        .compose(first -> login().compose(second -> {
          assertThat(second.welcome().sessionId()).isNotEqualTo(first.welcome().sessionId());
          return first.connection().next(Bye.class)
              .compose(bye -> first.connection().closed())
              .compose(v -> registry.firstClosedSession())
              .compose(closed -> {
                assertThat(closed.epoch()).isEqualTo(EPOCH);
                second.connection().send(new Ping(5));
                return second.connection().next(Pong.class);
              });
        }))
        .map(then(pong -> assertThat(gauge("funnel.gateway.node.sessions")).isEqualTo(1)))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void stoppingSaysByeToEveryNodeAndTellsTheRegistry(VertxTestContext test) {
    deploy(options())
        .compose(v -> login())
        .compose(control -> vertx.undeploy(deploymentId)
            .compose(v -> control.connection().next(Bye.class))
            .compose(bye -> {
              assertThat(bye.reason()).isEqualTo("gateway stopping");
              return control.connection().closed();
            }))
        .compose(v -> registry.firstClosedSession())
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aServeUpdateIsAnsweredWithANewWelcome(VertxTestContext test) {
    deploy(options())
        .compose(v -> login())
        .compose(control -> {
          control.connection().send(new ServeUpdate(List.of(443, 8443)));
          return control.connection().next(Welcome.class).map(updated -> {
            assertThat(updated.ports()).containsExactly(443, 8443);
            assertThat(updated.sessionId()).isEqualTo(control.welcome().sessionId());
            assertThat(updated.dataSecret()).isEqualTo(control.welcome().dataSecret());
            return updated;
          });
        })
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aTailnetPolicyChangeReachesItsNodesAsANewWelcome(VertxTestContext test) {
    deploy(options())
        .compose(v -> login())
        .compose(control -> {
          assertThat(control.welcome().ports()).containsExactly(443);
          assertThat(control.welcome().refused()).isEmpty();
          vertx.eventBus().publish(Addresses.TAILNET_CHANGED, new TailnetPolicy("demo", false, List.of(443)));
          return control.connection().next(Welcome.class).compose(off -> {
            assertThat(off.refused()).containsOnlyKeys(443);
            assertThat(off.refused().values()).allMatch(r -> r.equals(PortRefusals.POLICY
                + ": Funnel is off for tailnet demo"));
            assertThat(off.sessionId()).isEqualTo(control.welcome().sessionId());
            // Another tailnet's change, and a change that refuses the same, say nothing to this node.
            vertx.eventBus().publish(Addresses.TAILNET_CHANGED, new TailnetPolicy("other", true, List.of(443)));
            vertx.eventBus().publish(Addresses.TAILNET_CHANGED, new TailnetPolicy("demo", false, List.of()));
            vertx.eventBus().publish(Addresses.TAILNET_CHANGED, new TailnetPolicy("demo", true,
                control.welcome().ports()));
            return control.connection().next(Welcome.class);
          }).map(then(on -> assertThat(on.refused()).as("the next Welcome is the one that turned it on").isEmpty()));
        })
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void theWelcomeNamesTheSessionAsTheRegistryKnowsIt(VertxTestContext test) {
    deploy(options())
        .compose(v -> login())
        .map(then(control -> {
          assertThat(control.welcome().gatewayId()).isEqualTo(GATEWAY_ID);
          assertThat(control.welcome().epoch()).isEqualTo(EPOCH);
          assertThat(control.welcome().reportable()).isTrue();
        }))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aSessionLossReportGoesToTheRegistryInTheNameOfThisSessionsNode(VertxTestContext test) {
    deploy(options())
        .compose(v -> login())
        .compose(control -> {
          control.connection().send(new SessionLost("gw-other", 7, "connection lost: Connection reset"));
          return registry.firstLossReport();
        })
        .map(then(report -> {
          // The node is named by the gateway's own session, never by the message.
          assertThat(report).isEqualTo(new SessionLossReport(NODE_ID, "gw-other", 7, GATEWAY_ID, EPOCH,
              "connection lost: Connection reset"));
        }))
        .onComplete(test.succeedingThenComplete());
  }

  // ---------------------------------------------------------------- certificates

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void theNodesCertificateExpiryIsCountedByWindowUntilItsSessionEnds(VertxTestContext test) {
    long now = java.time.Instant.now().getEpochSecond();
    deploy(options())
        .compose(v -> login())
        .compose(control -> {
          assertThat(control.welcome().offers(ControlMessage.FEATURE_CERTIFICATE_EXPIRY)).isTrue();
          control.connection().send(new ControlMessage.CertificateExpiry(now + 3 * 86_400));
          // A Pong after it: the gateway has read the report (one connection, in order).
          control.connection().send(new Ping(5));
          return control.connection().next(Pong.class).compose(pong -> {
            assertThat(certificates("7d")).isEqualTo(1);
            assertThat(certificates("later") + certificates("30d") + certificates("1d") + certificates("expired"))
                .isZero();
            // Renewed: the newer report replaces the older one for this session.
            control.connection().send(new ControlMessage.CertificateExpiry(now + 60 * 86_400));
            control.connection().send(new Ping(6));
            return control.connection().next(Pong.class);
          }).compose(pong -> {
            assertThat(certificates("7d")).isZero();
            assertThat(certificates("later")).isEqualTo(1);
            control.connection().send(new Bye("node stopping"));
            return eventually(() -> Future.succeededFuture(gauge("funnel.gateway.node.sessions") == 0));
          });
        })
        .map(then(v -> {
          for (String window : List.of("expired", "1d", "7d", "30d", "later")) {
            assertThat(certificates(window)).as(window).isZero();
          }
        }))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aNodesCertificateExpiryIsPublishedInTheNameOfThisSessionsNode(VertxTestContext test) {
    java.util.List<dev.funnel.common.bus.NodeCertReport> reports = new java.util.concurrent.CopyOnWriteArrayList<>();
    Promise<Void> second = Promise.promise();
    vertx.eventBus().<Object>consumer(Addresses.NODE_CERT, m -> {
      reports.add((dev.funnel.common.bus.NodeCertReport) m.body());
      if (reports.size() == 2) {
        second.tryComplete();
      }
    });
    deploy(options())
        .compose(v -> login())
        .compose(control -> {
          assertThat(control.welcome().offers(ControlMessage.FEATURE_CERTIFICATE_EXPIRY)).isTrue();
          control.connection().send(new ControlMessage.CertificateExpiry(1_900_000_000L));
          control.connection().send(new ControlMessage.CertificateExpiry(1_900_000_000L));   // the same again: not published
          control.connection().send(new ControlMessage.CertificateExpiry(5L));               // out of range: ignored
          control.connection().send(new ControlMessage.CertificateExpiry(1_900_086_400L));
          return second.future();
        })
        .map(then(v -> assertThat(reports).containsExactly(
            new dev.funnel.common.bus.NodeCertReport(NODE_ID, 1_900_000_000L),
            new dev.funnel.common.bus.NodeCertReport(NODE_ID, 1_900_086_400L))))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void anAcmeTxtGoesToTheRegistryInTheNameOfThisSessionsNodeAndIsAnswered(VertxTestContext test) {
    deploy(options())
        .compose(v -> login())
        .compose(control -> {
          assertThat(control.welcome().offers(ControlMessage.FEATURE_ACME_TXT)).isTrue();
          control.connection().send(new ControlMessage.AcmeTxt(1, FakeRegistry.FQDN, "digest-1", true));
          return control.connection().next(ControlMessage.AcmeTxtReply.class).compose(ok -> {
            assertThat(ok).isEqualTo(new ControlMessage.AcmeTxtReply(1, null));
            control.connection().send(new ControlMessage.AcmeTxt(2, "other.demo.funnel.test", "digest-2", true));
            return control.connection().next(ControlMessage.AcmeTxtReply.class);
          });
        })
        .map(then(refused -> {
          assertThat(refused.id()).isEqualTo(2);
          assertThat(refused.error()).contains("not the node's own name");
          // The node, gateway and epoch come from the gateway's own session, never from the message.
          assertThat(registry.acmeRequests.get(0)).isEqualTo(new dev.funnel.common.bus.AcmeChallengeRequest(
              NODE_ID, GATEWAY_ID, EPOCH, FakeRegistry.FQDN, "digest-1", true));
        }))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aRequestForTheNodesOwnNameIsSignedAndOneForAnotherIsRefused(VertxTestContext test) {
    deploy(options(), ca)
        .compose(v -> login())
        .compose(control -> {
          control.connection().send(new SignRequest(DevCa.newRequest(DevCa.newKeyPair(), List.of(FQDN))));
          return control.connection().next(SignReply.class).compose(signed -> {
            assertThat(signed.error()).isNull();
            List<X509Certificate> chain = DevCa.Pem.certificates(signed.certChainPem());
            assertThat(chain).hasSize(2);
            try {
              chain.get(0).verify(ca.certificate().getPublicKey());
              assertThat(chain.get(0).getSubjectAlternativeNames())
                  .anySatisfy(san -> assertThat(san.get(1)).isEqualTo(FQDN));
            } catch (java.security.GeneralSecurityException e) {
              return Future.failedFuture(new AssertionError("the leaf does not verify against the CA", e));
            }
            control.connection().send(new SignRequest(DevCa.newRequest(DevCa.newKeyPair(),
                List.of("other.demo.funnel.test"))));
            return control.connection().next(SignReply.class);
          });
        })
        .map(then(refused -> {
          assertThat(refused.certChainPem()).isNull();
          assertThat(refused.error()).contains("other.demo.funnel.test");
        }))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aGatewayWithoutACaSaysItCannotSign(VertxTestContext test) {
    deploy(options())
        .compose(v -> login())
        .compose(control -> {
          control.connection().send(new SignRequest(DevCa.newRequest(DevCa.newKeyPair(), List.of(FQDN))));
          return control.connection().next(SignReply.class);
        })
        .map(then(reply -> {
          assertThat(reply.certChainPem()).isNull();
          assertThat(reply.error()).isEqualTo("this gateway cannot sign certificates");
        }))
        .onComplete(test.succeedingThenComplete());
  }

  // ---------------------------------------------------------------- link connections

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void linkConnectionsAreCountedAndLeaveTheGaugeWhenTheyClose(VertxTestContext test) {
    deploy(options())
        .compose(v -> login())
        .compose(control -> Future.all(link(control.welcome(), h -> FakeNodeLink.ECHO),
                link(control.welcome(), h -> FakeNodeLink.ECHO))
            .compose(both -> linksReach(2).map(both)))
        .compose(both -> {
          assertThat(gauge("funnel.gateway.link.connections")).isEqualTo(2);
          FakeNodeLink first = both.resultAt(0);
          first.close();
          return linksReach(1);
        })
        .map(then(v -> assertThat(gauge("funnel.gateway.link.connections")).isEqualTo(1)))
        .onComplete(test.succeedingThenComplete());
  }

  /**
   * A node's links spread over the data plane's loops whatever loops they were accepted on: links
   * dialled one after another, each accepted on the previous one's loop, end up the same number on
   * every loop, and tunnels still open over them.
   */
  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aNodesLinksAreSpreadOverTheLoops(VertxTestContext test) {
    int loops = DataPlane.eventLoops();
    int links = 2 * loops;
    // The node's DataHello and its HTTP/2 preface reach the gateway in one read, so the records
    // decrypted after the DataHello arrive while a link moves to another loop.
    deploy(options().setMaxLinksPerNode(links))
        .compose(v -> {
          try {
            forwarder = new Forwarder(gateway.actualPort(), 10);
          } catch (java.io.IOException e) {
            return Future.failedFuture(e);
          }
          return login();
        })
        .compose(control -> {
          Future<Void> chain = Future.succeededFuture();
          for (int i = 1; i <= links; i++) {
            int n = i;
            chain = chain.compose(v -> {
              // The fake node dials on the data plane's group too: its connect and the accept take a
              // loop each from the same round, so these make the next accept land where the last did.
              for (int skip = 2; skip < loops; skip++) {
                DataPlane.group().next();
              }
              return FakeNodeLink.open(nodeTls, forwarder.port(), dataHello(control.welcome()), h -> FakeNodeLink.ECHO)
                  .compose(l -> linksReach(n));
            });
          }
          return chain;
        })
        .map(then(v -> {
          List<Integer> placed = gateway.linkLoops(NODE_ID);
          assertThat(placed).hasSize(links);
          for (int loop = 0; loop < loops; loop++) {
            int on = loop;
            assertThat(placed.stream().filter(l -> l == on).count()).as("links on loop %d of %s", on, placed)
                .isEqualTo(2);
          }
        }))
        .compose(v -> {
          // More than one stream window's worth each way (64 KiB before the node's SETTINGS arrive):
          // a moved link that lost the node's SETTINGS on the way stalls here.
          byte[] bulk = payload('b', 256 * 1024).getBytes();
          List<Future<byte[]>> echoes = new java.util.ArrayList<>();
          for (int i = 0; i < 2 * links; i++) {
            echoes.add(open().compose(stream -> TunnelEnd.attach(stream).send(bulk, true).inputEnded()));
          }
          return Future.all(echoes).map(all -> {
            for (int i = 0; i < all.size(); i++) {
              assertThat((byte[]) all.resultAt(i)).as("echo %d", i).isEqualTo(bulk);
            }
            return null;
          });
        })
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void linkConnectionsBeyondThePerNodeBoundAreClosed(VertxTestContext test) {
    deploy(options().setMaxLinksPerNode(1))
        .compose(v -> login())
        .compose(control -> link(control.welcome(), h -> FakeNodeLink.ECHO)
            .compose(first -> linksReach(1))
            .compose(v -> link(control.welcome(), h -> FakeNodeLink.ECHO))
            .compose(FakeNodeLink::closed))
        .map(then(v -> assertThat(gateway.linkConnections(NODE_ID)).isEqualTo(1)))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aWrongDataSecretOrUnknownSessionIsClosed(VertxTestContext test) {
    deploy(options())
        .compose(v -> login())
        .compose(control -> Future.all(
                FakeNodeLink.open(nodeTls, gateway.actualPort(),
                    new DataHello(control.welcome().sessionId(), "not-the-secret"), h -> FakeNodeLink.ECHO)
                    .compose(FakeNodeLink::closed),
                FakeNodeLink.open(nodeTls, gateway.actualPort(),
                    new DataHello("no-such-session", control.welcome().dataSecret()), h -> FakeNodeLink.ECHO)
                    .compose(FakeNodeLink::closed))
            .compose(v -> {
              // closed by the check, not by the session ending
              control.connection().send(new Ping(9));
              return control.connection().next(Pong.class);
            }))
        .map(then(pong -> {
          assertThat(registry.closedSessions).isEmpty();
          assertThat(gateway.linkConnections(NODE_ID)).isZero();
        }))
        .compose(v -> expectFailure(open()))
        .map(then(err -> assertThat(codeOf(err)).isEqualTo(OpenFailure.NO_DATA_CONNECTION.code())))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aLinkConnectionThatSaysNothingAfterTheChallengeIsClosed(VertxTestContext test) {
    deploy(options().setLoginTimeoutMillis(200))
        .compose(v -> connect())
        .compose(node -> node.next(Challenge.class).compose(challenge -> node.closed()))
        .map(then(v -> assertThat(gauge("funnel.gateway.link.connections")).isZero()))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aSilentLinkConnectionIsClosedByTheKeepaliveAndALiveOneStays(VertxTestContext test) {
    // Dead after 2 s, not less: the live one must answer within it even on a starved machine.
    deploy(options().setPingIntervalMillis(50).setDeadAfterMillis(2_000))
        .compose(v -> login())
        .compose(control -> Future.all(link(control.welcome(), h -> FakeNodeLink.ECHO),
            link(control.welcome(), h -> FakeNodeLink.ECHO)))
        .compose(both -> linksReach(2).compose(v -> {
          FakeNodeLink silent = both.resultAt(0);
          FakeNodeLink alive = both.resultAt(1);
          // The silent one reads nothing more: the gateway's PINGs go unanswered (and its own
          // close goes unnoticed here, so the gateway's count says when it is gone).
          silent.channel.eventLoop().execute(() -> silent.channel.config().setAutoRead(false));
          return linksReach(1).map(v2 -> {
            // The live one answered every PING (Netty acks them) through the same silence.
            assertThat(alive.channel.isActive()).isTrue();
            silent.close();
            return alive;
          });
        }))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aNewerSessionClosesTheOldSessionsLinksAndOpensGoToItsOwn(VertxTestContext test) {
    deploy(options())
        .compose(v -> login())
        .compose(first -> link(first.welcome(), h -> 403).compose(oldLink -> linksReach(1)
            .compose(v -> login())
            .compose(second -> oldLink.closed()
                .compose(v -> FakeNodeLink.open(nodeTls, gateway.actualPort(),
                    new DataHello(first.welcome().sessionId(), first.welcome().dataSecret()), h -> FakeNodeLink.ECHO))
                .compose(FakeNodeLink::closed)
                .compose(v -> link(second.welcome(), h -> FakeNodeLink.ECHO))
                .compose(newLink -> linksReach(1)
                    .compose(v -> open(new OpenRequest(NODE_ID, second.welcome().epoch(), FQDN, 443, CLIENT, "fe-1")))
                    .map(stream -> {
                      assertThat(newLink.offers).hasSize(1);
                      assertThat(oldLink.offers).isEmpty();
                      stream.channel().close();
                      return stream;
                    })))))
        .compose(v -> expectFailure(open(new OpenRequest(NODE_ID, EPOCH, FQDN, 443, CLIENT, "fe-1"))))
        .map(then(err -> assertThat(codeOf(err)).as("the old epoch is gone").isEqualTo(OpenFailure.NODE_GONE.code())))
        .onComplete(test.succeedingThenComplete());
  }

  // ---------------------------------------------------------------- opens

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void anOpenReachesTheNodeAndBytesFlowBothWaysWithHalfClose(VertxTestContext test) {
    byte[] fromClient = payload('c', 100_000).getBytes();
    deploy(options())
        .compose(v -> login())
        .compose(control -> link(control.welcome(), h -> FakeNodeLink.ECHO))
        .compose(node -> linksReach(1).compose(v -> open()).compose(stream -> {
          assertThat(node.offers).singleElement().satisfies(offer -> {
            assertThat(offer.method().toString()).isEqualTo("POST");
            assertThat(offer.path().toString()).isEqualTo(IngressOffer.PATH);
            assertThat(offer.get(IngressOffer.SRC_HEADER).toString()).isEqualTo(CLIENT);
            assertThat(offer.get(IngressOffer.TARGET_HEADER).toString()).isEqualTo(FQDN + ":443");
          });
          assertThat(gauge("funnel.tunnels.active")).isEqualTo(1);
          TunnelEnd end = TunnelEnd.attach(stream).send(fromClient, true);
          // The client ended its output first and still gets every byte back, then the end.
          return end.inputEnded().compose(back -> {
            assertThat(back.length).isEqualTo(fromClient.length);
            assertThat(back).isEqualTo(fromClient);
            return end.closed();
          });
        }))
        .compose(v -> eventually(() -> Future.succeededFuture(gauge("funnel.tunnels.active") == 0)))
        .map(then(v -> {
          assertThat(offers("200")).isEqualTo(1);
          assertThat(gateway.meterRegistry().get("funnel.tunnel.setup").timer().count()).isEqualTo(1);
          assertThat(gateway.linkConnections(NODE_ID)).as("the link outlives its tunnels").isEqualTo(1);
        }))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aNodeThatAnswers403Refuses(VertxTestContext test) {
    deploy(options())
        .compose(v -> login())
        .compose(control -> link(control.welcome(), h -> 403))
        .compose(node -> linksReach(1).compose(v -> expectFailure(open())).map(err -> {
          assertThat(codeOf(err)).isEqualTo(OpenFailure.REFUSED.code());
          assertThat(err.getMessage()).contains("403").contains("test refuses");
          assertThat(node.offers).hasSize(1);
          return node;
        }))
        .map(then(node -> {
          assertThat(offers("403")).isEqualTo(1);
          assertThat(gateway.linkConnections(NODE_ID)).as("a refusal ends the stream, not the link").isEqualTo(1);
          assertThat(gateway.meterRegistry().get("funnel.gateway.opens.refused")
              .tag("reason", "refused").counter().count()).isEqualTo(1);
        }))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aNodeThatDoesNotAnswerTimesOut(VertxTestContext test) {
    deploy(options().setOfferTimeoutMillis(300))
        .compose(v -> login())
        .compose(control -> link(control.welcome(), h -> FakeNodeLink.SILENT))
        .compose(node -> linksReach(1).compose(v -> expectFailure(open())))
        .map(then(err -> {
          assertThat(codeOf(err)).isEqualTo(OpenFailure.OFFER_TIMEOUT.code());
          assertThat(offers("timeout")).isEqualTo(1);
        }))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void withoutALinkConnectionTheOpenFails(VertxTestContext test) {
    // It waits for a link as long as an offer may take; none comes.
    deploy(options().setOfferTimeoutMillis(300))
        .compose(v -> login())
        .compose(control -> expectFailure(open()))
        .map(then(err -> assertThat(codeOf(err)).isEqualTo(OpenFailure.NO_DATA_CONNECTION.code())))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void anOpenBeforeTheSessionsFirstLinkWaitsForIt(VertxTestContext test) {
    // The registry routes to a session as soon as it logs in; its links follow within a handshake.
    // The open waits for a link as long as an offer may take: long here, so a link whose handshake
    // is slow on a starved machine still comes in time.
    byte[] hello = payload('w', 517).getBytes();
    deploy(options().setOfferTimeoutMillis(30_000))
        .compose(v -> login())
        .compose(control -> {
          Future<PeekedConnection> early = open();
          return vertx.timer(200).compose(t -> {
            assertThat(early.isComplete()).as("the open waits for a link").isFalse();
            return link(control.welcome(), h -> FakeNodeLink.ECHO);
          }).compose(node -> early);
        })
        .compose(stream -> TunnelEnd.attach(stream).send(hello, true).inputEnded())
        .map(then(back -> assertThat(back).isEqualTo(hello)))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void anOfferWhoseLinkDiesBeforeTheAnswerIsOfferedOnceMoreOnTheOtherLink(VertxTestContext test) {
    AtomicInteger offersSeen = new AtomicInteger();
    // Whichever link gets the offer first dies with it; the other answers.
    Function<io.netty.handler.codec.http2.Http2Headers, Integer> firstDies =
        h -> offersSeen.getAndIncrement() == 0 ? FakeNodeLink.DIE : FakeNodeLink.ECHO;
    byte[] hello = payload('h', 517).getBytes();
    deploy(options())
        .compose(v -> login())
        .compose(control -> Future.all(link(control.welcome(), firstDies), link(control.welcome(), firstDies)))
        .compose(links -> linksReach(2).compose(v -> open()).compose(stream -> {
          FakeNodeLink a = links.resultAt(0);
          FakeNodeLink b = links.resultAt(1);
          assertThat(a.offers).hasSize(1);
          assertThat(b.offers).hasSize(1);
          assertThat(offersSeen.get()).isEqualTo(2);
          TunnelEnd end = TunnelEnd.attach(stream).send(hello, true);
          return end.inputEnded();
        }))
        .map(then(back -> assertThat(back).isEqualTo(hello)))
        .compose(v -> linksReach(1))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void anOfferWhoseOnlyLinkDiesFailsWithoutALinkConnection(VertxTestContext test) {
    deploy(options())
        .compose(v -> login())
        .compose(control -> link(control.welcome(), h -> FakeNodeLink.DIE))
        .compose(node -> linksReach(1).compose(v -> expectFailure(open())))
        .map(then(err -> assertThat(codeOf(err)).isEqualTo(OpenFailure.NO_DATA_CONNECTION.code())))
        .compose(v -> linksReach(0))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void opensForAnotherEpochOrNodeFindTheNodeGone(VertxTestContext test) {
    deploy(options())
        .compose(v -> login())
        .compose(control -> link(control.welcome(), h -> FakeNodeLink.ECHO))
        .compose(node -> linksReach(1).compose(v -> Future.all(
            expectFailure(open(new OpenRequest(NODE_ID, EPOCH + 1, FQDN, 443, CLIENT, "fe-1"))),
            expectFailure(open(new OpenRequest("node-unknown", EPOCH, FQDN, 443, CLIENT, "fe-1")))))
            .map(both -> {
              assertThat(codeOf(both.resultAt(0))).isEqualTo(OpenFailure.NODE_GONE.code());
              assertThat(codeOf(both.resultAt(1))).isEqualTo(OpenFailure.NODE_GONE.code());
              assertThat(node.offers).as("nothing reached the node").isEmpty();
              return both;
            }))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void tunnelsBeyondThePerNodeCapAreOverCapacityUntilOneCloses(VertxTestContext test) {
    deploy(options().setMaxTunnelsPerNode(1))
        .compose(v -> login())
        .compose(control -> link(control.welcome(), h -> FakeNodeLink.ECHO))
        .compose(node -> linksReach(1).compose(v -> open()).compose(first -> expectFailure(open())
            .compose(err -> {
              assertThat(codeOf(err)).isEqualTo(OpenFailure.OVER_CAPACITY.code());
              assertThat(node.offers).hasSize(1);
              assertThat(gateway.meterRegistry().get("funnel.gateway.opens.refused")
                  .tag("reason", "over_capacity").counter().count()).isEqualTo(1);
              first.channel().close();
              // The cap is counted down when the first tunnel's stream closes.
              return eventually(() -> Future.succeededFuture(gauge("funnel.tunnels.active") == 0));
            })))
        .compose(v -> open())
        .map(then(second -> second.channel().close()))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aTunnelRunningWhenTheSessionEndsFinishesThenItsLinkCloses(VertxTestContext test) {
    byte[] late = payload('l', 2000).getBytes();
    deploy(options())
        .compose(v -> login())
        .compose(control -> link(control.welcome(), h -> FakeNodeLink.ECHO).compose(node -> linksReach(1)
            .compose(v -> open())
            .compose(stream -> {
              control.connection().socket.close();
              return registry.firstClosedSession().compose(closed -> {
                assertThat(node.channel.isActive()).as("the link carries a stream: it stays").isTrue();
                TunnelEnd end = TunnelEnd.attach(stream).send(late, true);
                return end.inputEnded();
              });
            })
            .compose(back -> {
              assertThat(back).isEqualTo(late);
              return node.closed();
            })))
        .map(then(v -> assertThat(gauge("funnel.gateway.link.connections")).isZero()))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aLinkWhoseOfferWasPendingWhenTheSessionEndedClosesOnceTheOfferIsDone(VertxTestContext test) {
    deploy(options().setOfferTimeoutMillis(500))
        .compose(v -> login())
        .compose(control -> link(control.welcome(), h -> FakeNodeLink.SILENT).compose(node -> linksReach(1)
            .compose(v -> {
              Future<Throwable> pending = expectFailure(open());
              return eventually(() -> Future.succeededFuture(node.offers.size() == 1)).compose(v2 -> {
                control.connection().socket.close();
                return registry.firstClosedSession();
              }).compose(closed -> pending);
            })
            .compose(err -> {
              assertThat(codeOf(err)).isEqualTo(OpenFailure.OFFER_TIMEOUT.code());
              // The session is gone and the link carries nothing: it must not stay open.
              return node.closed();
            })))
        .onComplete(test.succeedingThenComplete());
  }

  // ---------------------------------------------------------------- frontends in other processes

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aFrontendInAnotherProcessOpensOverTheMutualTlsLink(VertxTestContext test) {
    byte[] hello = payload('h', 517).getBytes();
    deploy(options().setLinkListen(new HostPort("127.0.0.1", 0))
        .setLinkTrust(new PemTrustOptions().addCertPath(ca.caPemPath().toString())))
        .compose(v -> login())
        .compose(control -> link(control.welcome(), h -> FakeNodeLink.ECHO))
        .compose(node -> linksReach(1)
            .compose(v -> connectAsFrontend())
            .compose(link -> FrontendLinkClient.open(link,
                    OpenStream.toHeaders(new OpenRequest(NODE_ID, EPOCH, FQDN, 443, CLIENT, "fe-elsewhere")))
                .compose(answer -> {
                  assertThat(answer).isInstanceOf(OpenAnswer.Accepted.class);
                  assertThat(node.offers).singleElement().satisfies(offer ->
                      assertThat(offer.get(IngressOffer.SRC_HEADER).toString()).isEqualTo(CLIENT));
                  TunnelEnd end = TunnelEnd.attach((PeekedConnection) ((OpenAnswer.Accepted<?>) answer).stream()).send(hello, true);
                  return end.inputEnded();
                })
                .compose(back -> {
                  assertThat(back).isEqualTo(hello);
                  return FrontendLinkClient.open(link, OpenStream.toHeaders(
                      new OpenRequest(NODE_ID, EPOCH + 1, FQDN, 443, CLIENT, "fe-elsewhere")));
                })
                .map(answer -> {
                  assertThat(answer).isInstanceOf(OpenAnswer.Refused.class);
                  OpenAnswer.Refused refused = (OpenAnswer.Refused) answer;
                  assertThat(refused.status()).isEqualTo(503);
                  assertThat(OpenStream.failure(refused.headers())).contains(OpenFailure.NODE_GONE);
                  link.close();
                  return refused;
                })))
        .onComplete(test.succeedingThenComplete());
  }

  /**
   * The gateway relays a remote frontend's tunnel frame by frame (FrameSplice): megabytes both ways
   * past both links' stream windows, byte-exact, with each side's END_STREAM passed on; a reset by
   * the frontend resets the node's stream; a node link that dies resets the frontend's stream.
   */
  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aRemoteFrontendsTunnelIsRelayedFrameByFrame(VertxTestContext test) {
    byte[] big = new byte[8 << 20];
    new java.util.Random(7).nextBytes(big);
    OpenRequest request = new OpenRequest(NODE_ID, EPOCH, FQDN, 443, CLIENT, "fe-elsewhere");
    deploy(options().setLinkListen(new HostPort("127.0.0.1", 0)).setLinkTrust(trust()))
        .compose(v -> login())
        .compose(control -> link(control.welcome(), h -> FakeNodeLink.ECHO))
        .compose(node -> linksReach(1)
            .compose(v -> connectAsFrontend())
            .compose(link -> FrontendLinkClient.open(link, OpenStream.toHeaders(request))
                .compose(answer -> {
                  TunnelEnd end = TunnelEnd.attach(accepted(answer)).send(big, true);
                  return end.inputEnded();
                })
                .compose(back -> {
                  assertThat(back).as("8 MiB echoed through both links, then END_STREAM each way").isEqualTo(big);
                  assertThat(node.echoed.get()).isEqualTo(big.length);
                  return eventually(() -> Future.succeededFuture(activeStreams(node) == 0));
                })
                .compose(v -> FrontendLinkClient.open(link, OpenStream.toHeaders(request)))
                .compose(answer -> {
                  TunnelEnd end = TunnelEnd.attach(accepted(answer)).send(payload('r', 100_000).getBytes(), false);
                  return eventually(() -> Future.succeededFuture(node.echoed.get() >= big.length + 100_000L))
                      .compose(v -> {
                        assertThat(activeStreams(node)).as("the node's stream while the tunnel is open").isEqualTo(1);
                        end.channel.close();   // RST_STREAM from the frontend
                        return eventually(() -> Future.succeededFuture(activeStreams(node) == 0));
                      });
                })
                .compose(v -> FrontendLinkClient.open(link, OpenStream.toHeaders(request)))
                .compose(answer -> {
                  TunnelEnd end = TunnelEnd.attach(accepted(answer));
                  node.close();   // the node's link connection dies
                  return end.closed();
                })
                .map(v -> {
                  assertThat(link.isActive()).as("the frontend's link outlives its streams").isTrue();
                  link.close();
                  return v;
                })))
        .onComplete(test.succeedingThenComplete());
  }

  /**
   * One gateway serves the frontend in its own JVM and one in another process at once, their
   * tunnels side by side on the same node link (both kinds are {@code LinkStreams} ends there).
   */
  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void theFrontendInThisJvmAndARemoteOneShareANodeLink(VertxTestContext test) {
    byte[] local = payload('l', 300_000).getBytes();
    byte[] remote = payload('r', 500_000).getBytes();
    OpenRequest request = new OpenRequest(NODE_ID, EPOCH, FQDN, 443, CLIENT, "fe-elsewhere");
    deploy(options().setLinkListen(new HostPort("127.0.0.1", 0)).setLinkTrust(trust()))
        .compose(v -> login())
        .compose(control -> link(control.welcome(), h -> FakeNodeLink.ECHO))
        .compose(node -> linksReach(1)
            .compose(v -> connectAsFrontend())
            .compose(link -> Future.all(open(), FrontendLinkClient.open(link, OpenStream.toHeaders(request)))
                .compose(both -> {
                  TunnelEnd inJvm = TunnelEnd.attach((PeekedConnection) both.resultAt(0));
                  TunnelEnd elsewhere = TunnelEnd.attach(accepted(both.resultAt(1)));
                  assertThat(activeStreams(node)).as("two tunnels on the one node link").isEqualTo(2);
                  return Future.all(inJvm.send(local, true).inputEnded(), elsewhere.send(remote, true).inputEnded());
                })
                .map(back -> {
                  assertThat((byte[]) back.resultAt(0)).as("the in-JVM frontend's tunnel").isEqualTo(local);
                  assertThat((byte[]) back.resultAt(1)).as("the remote frontend's tunnel").isEqualTo(remote);
                  link.close();
                  return back;
                })))
        .onComplete(test.succeedingThenComplete());
  }

  private static PeekedConnection accepted(OpenAnswer answer) {
    assertThat(answer).isInstanceOf(OpenAnswer.Accepted.class);
    return (PeekedConnection) ((OpenAnswer.Accepted<?>) answer).stream();
  }

  private static int activeStreams(FakeNodeLink node) {
    return node.channel.pipeline().get(io.netty.handler.codec.http2.Http2FrameCodec.class).connection().numActiveStreams();
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aLinkStreamThatIsNotAnOpenIsAnswered400(VertxTestContext test) {
    deploy(options().setLinkListen(new HostPort("127.0.0.1", 0)).setLinkTrust(trust()))
        .compose(v -> connectAsFrontend())
        .compose(link -> FrontendLinkClient.open(link, OpenStream.toHeaders(
            new OpenRequest(NODE_ID, EPOCH, FQDN, 443, CLIENT, "fe-x")).path("/v0/other")).map(answer -> {
              assertThat(answer).isInstanceOf(OpenAnswer.Refused.class);
              assertThat(((OpenAnswer.Refused) answer).status()).isEqualTo(400);
              assertThat(link.isActive()).as("one bad stream does not end the link").isTrue();
              link.close();
              return answer;
            }))
        .onComplete(test.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aFrontendWithoutAClientCertificateIsRefused(VertxTestContext test) {
    deploy(options().setLinkListen(new HostPort("127.0.0.1", 0))
        .setLinkTrust(new PemTrustOptions().addCertPath(ca.caPemPath().toString())))
        .compose(v -> vertx.executeBlocking(() -> LinkTls.client(vertx, trust(), null)))
        .compose(tls -> FrontendLinkClient.connect(tls, gateway.linkPort())
            .compose(link -> FrontendLinkClient.open(link, OpenStream.toHeaders(
                new OpenRequest(NODE_ID, EPOCH, FQDN, 443, CLIENT, "fe-anon")))))
        .transform(result -> result.failed() ? Future.succeededFuture()
            : Future.failedFuture(new AssertionError("a frontend without a certificate got " + result.result())))
        .onComplete(test.succeedingThenComplete());
  }
  // ---------------------------------------------------------------- helpers

  private GatewayOptions options() {
    return new GatewayOptions()
        .setGatewayId(GATEWAY_ID)
        .setListen(new HostPort("127.0.0.1", 0))
        .setKeyCert(gatewayCert)
        .setOfferTimeoutMillis(2_000)
        .setHeartbeatMillis(1_000)
        // Long enough that no timer closes anything a test watches, unless the test shortens it.
        .setSessionTimeoutMillis(60_000)
        .setLoginTimeoutMillis(60_000)
        .setRegistryTimeoutMillis(2_000);
  }

  private Future<GatewayVerticle> deploy(GatewayOptions options) {
    return deploy(options, null);
  }

  private Future<GatewayVerticle> deploy(GatewayOptions options, DevCa signingCa) {
    // A gateway with a link for other processes' frontends serves none in its own JVM.
    gateway = new GatewayVerticle(options, signingCa, localLinks);
    return vertx.deployVerticle(gateway).map(id -> {
      deploymentId = id;
      return gateway;
    });
  }

  private Future<NodeConnection> connect() {
    return NodeConnection.open(client, gateway.actualPort());
  }

  private static Hello hello(String authKey) {
    return new Hello(ControlMessage.VERSION, authKey, "web", List.of(443), null, null);
  }

  private Future<Control> login() {
    return connect().compose(node -> node.next(Challenge.class).compose(challenge -> {
      node.send(hello(GOOD_KEY));
      return node.next(Welcome.class).map(welcome -> new Control(node, welcome));
    }));
  }

  /** A link connection of the session {@code welcome} names, answering offers with {@code answer}. */
  private Future<FakeNodeLink> link(Welcome welcome,
                                    Function<io.netty.handler.codec.http2.Http2Headers, Integer> answer) {
    return FakeNodeLink.open(nodeTls, gateway.actualPort(), new DataHello(welcome.sessionId(), welcome.dataSecret()),
        answer);
  }

  private static DataHello dataHello(Welcome welcome) {
    return new DataHello(welcome.sessionId(), welcome.dataSecret());
  }

  private Future<PeekedConnection> open() {
    return open(new OpenRequest(NODE_ID, EPOCH, FQDN, 443, CLIENT, "fe-1"));
  }

  /** An open through the gateway's in-JVM link, as the frontend in this JVM makes it. */
  private Future<PeekedConnection> open(OpenRequest request) {
    Promise<PeekedConnection> opened = Promise.promise();
    localLinks.local(GATEWAY_ID).orElseThrow().open(request, io.netty.buffer.Unpooled.EMPTY_BUFFER, DataPlane.group().next()).addListener(f -> {
      if (f.isSuccess()) {
        SplicedEnd.socket((LinkStreams.End) f.getNow()).onComplete(opened);
      } else {
        opened.fail(f.cause());
      }
    });
    return opened.future();
  }

  /** A link connection to the gateway's link port as a frontend in another process, with a certificate from the cluster's CA. */
  private Future<Channel> connectAsFrontend() {
    DevCa.KeyAndChain frontendKey = ca.issue(List.of("frontend.test.funnel.internal"), Duration.ofDays(1));
    PemKeyCertOptions frontendCert = new PemKeyCertOptions()
        .setKeyValue(Buffer.buffer(frontendKey.keyPem()))
        .setCertValue(Buffer.buffer(frontendKey.chainPem()));
    return vertx.executeBlocking(() -> LinkTls.client(vertx, trust(), frontendCert))
        .compose(tls -> FrontendLinkClient.connect(tls, gateway.linkPort()));
  }

  private static PemTrustOptions trust() {
    return new PemTrustOptions().addCertPath(ca.caPemPath().toString());
  }

  private static <T> Future<Throwable> expectFailure(Future<T> future) {
    return future.transform(result -> result.failed() ? Future.succeededFuture(result.cause())
        : Future.failedFuture(new AssertionError("expected a failure, got " + result.result())));
  }

  private static int codeOf(Throwable failure) {
    return FailureCode.of(failure).orElse(-1);
  }

  private Future<Void> linksReach(int count) {
    return eventually(() -> Future.succeededFuture(gateway.linkConnections(NODE_ID) == count
        && gauge("funnel.gateway.link.connections") == count));
  }

  /** Re-checks {@code condition} every 20 ms until it holds; the test's timeout bounds the wait. */
  private Future<Void> eventually(Supplier<Future<Boolean>> condition) {
    return condition.get().compose(holds -> {
      if (holds) {
        return Future.succeededFuture();
      }
      Promise<Void> later = Promise.promise();
      vertx.setTimer(20, id -> later.complete());
      return later.future().compose(v -> eventually(condition));
    });
  }

  private double gauge(String name) {
    return gateway.meterRegistry().get(name).gauge().value();
  }

  private double certificates(String window) {
    return gateway.meterRegistry().get("funnel.gateway.node.certificates").tag("expires_within", window).gauge()
        .value();
  }

  private double offers(String answer) {
    return gateway.meterRegistry().get("funnel.gateway.offers").tag("answer", answer).counter().count();
  }

  private static Buffer payload(char fill, int length) {
    return Buffer.buffer(String.valueOf(fill).repeat(length));
  }

  /** Runs assertions on a result inside the chain, so a failing one fails the test. */
  private static <T> Function<T, T> then(Consumer<T> assertions) {
    return value -> {
      assertions.accept(value);
      return value;
    };
  }
}
