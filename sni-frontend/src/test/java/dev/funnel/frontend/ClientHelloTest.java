package dev.funnel.frontend;

import dev.funnel.common.tls.ClientHello;
import static dev.funnel.frontend.Hellos.NAME;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.funnel.common.tls.DevCa;
import dev.funnel.common.tls.ClientHello.Found;
import dev.funnel.common.tls.ClientHello.Malformed;
import dev.funnel.common.tls.ClientHello.NeedMore;
import dev.funnel.common.tls.ClientHello.NoSni;
import dev.funnel.common.tls.ClientHello.NotTls;
import dev.funnel.common.tls.ClientHello.Result;
import dev.funnel.common.options.FrontendOptions;
import io.vertx.core.buffer.Buffer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@Timeout(30)
class ClientHelloTest {

  static final int MAX = FrontendOptions.DEFAULT_MAX_HELLO_BYTES;

  /** Every real hello: captured from openssl and curl, made by the JDK, and a post-quantum-sized one. */
  static Stream<Arguments> realHellos() {
    List<Arguments> all = new ArrayList<>();
    for (String capture : Hellos.CAPTURES) {
      all.add(Arguments.of(capture, Hellos.capture(capture)));
    }
    all.add(Arguments.of("jdk-tls12", Hellos.jdk("TLSv1.2", NAME)));
    all.add(Arguments.of("jdk-tls13", Hellos.jdk("TLSv1.3", NAME)));
    all.add(Arguments.of("large-mlkem", largeHello()));
    return all.stream();
  }

  static Buffer largeHello() {
    return Hellos.records(Hellos.withMlKemKeyShare(Hellos.message(Hellos.capture("curl-tls13"))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("realHellos")
  void findsTheNameInARealHello(String source, Buffer hello) {
    Result result = ClientHello.parse(hello, MAX);

    assertThat(result).usingRecursiveComparison().ignoringFields("protocols").isEqualTo(new Found(NAME, Hellos.message(hello).length));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("realHellos")
  void readsAByteBufFromItsReaderIndexAndMovesNeitherIndex(String source, Buffer hello) {
    io.netty.buffer.ByteBuf bytes = io.netty.buffer.Unpooled.buffer();
    bytes.writeBytes(new byte[] {'x', 'y', 'z'}).writeBytes(hello.getBytes()).readerIndex(3);
    int writerIndex = bytes.writerIndex();

    assertThat(ClientHello.parse(bytes, MAX)).usingRecursiveComparison().ignoringFields("protocols").isEqualTo(new Found(NAME, Hellos.message(hello).length));
    assertThat(bytes.readerIndex()).isEqualTo(3);
    assertThat(bytes.writerIndex()).isEqualTo(writerIndex);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("realHellos")
  void findsTheNameFedOneByteAtATime(String source, Buffer hello) {
    assertThat(feedBytewise(hello, MAX)).usingRecursiveComparison().ignoringFields("protocols").isEqualTo(new Found(NAME, Hellos.message(hello).length));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("realHellos")
  void findsTheNameAcross50ByteRecords(String source, Buffer hello) {
    byte[] message = Hellos.message(hello);
    Buffer reframed = Hellos.records(message, 50);
    assertThat(reframed.length()).isGreaterThan(hello.length());

    assertThat(ClientHello.parse(reframed, MAX)).usingRecursiveComparison().ignoringFields("protocols").isEqualTo(new Found(NAME, message.length));
    assertThat(feedBytewise(reframed, MAX)).usingRecursiveComparison().ignoringFields("protocols").isEqualTo(new Found(NAME, message.length));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("realHellos")
  void findsTheNameAcrossOneByteRecords(String source, Buffer hello) {
    byte[] message = Hellos.message(hello);

    assertThat(ClientHello.parse(Hellos.records(message, 1), MAX)).usingRecursiveComparison().ignoringFields("protocols").isEqualTo(new Found(NAME, message.length));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("realHellos")
  void everyPrefixNeedsMore(String source, Buffer hello) {
    for (int cut = 0; cut < hello.length(); cut++) {
      Result result = ClientHello.parse(hello.getBuffer(0, cut), MAX);
      assertThat(result).as("cut at %d", cut).isInstanceOf(NeedMore.class);
      assertThat(((NeedMore) result).atLeast()).as("cut at %d", cut).isGreaterThan(cut).isLessThanOrEqualTo(hello.length());
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("realHellos")
  void aMessageTruncatedAtEveryOffsetWithConsistentFramingIsMalformed(String source, Buffer hello) {
    byte[] message = Hellos.message(hello);
    int endOfCompression = Hellos.lengthFields(message).stream()
        .filter(f -> f.name().equals("extensions")).findFirst().orElseThrow().offset();
    for (int cut = 5; cut < message.length; cut++) {
      byte[] truncated = java.util.Arrays.copyOf(message, cut);
      truncated = new Hellos.LengthField("handshake length", 1, 3).with(truncated, cut - 4);
      Buffer records = Hellos.records(truncated);
      Result result = assertDoesNotThrow(records, MAX);
      if (cut == endOfCompression) {
        assertThat(result).as("cut at %d", cut).usingRecursiveComparison().ignoringFields("protocols").isEqualTo(new NoSni(cut)); // a TLS 1.2 hello may end there
      } else {
        assertThat(result).as("cut at %d", cut).isInstanceOf(Malformed.class);
      }
    }
  }

  /** Every length field of every real hello, one at a time, made to overrun by one byte and to its maximum. */
  static Stream<Arguments> overrunningLengths() {
    return realHellos().flatMap(args -> {
      Buffer hello = (Buffer) args.get()[1];
      byte[] message = Hellos.message(hello);
      return Hellos.lengthFields(message).stream().flatMap(field -> Stream.of(
          Arguments.of(args.get()[0], field, field.read(message) + 1, message),
          Arguments.of(args.get()[0], field, (1L << (8 * field.width())) - 1, message)));
    }).filter(a -> (Long) a.get()[2] < (1L << (8 * ((Hellos.LengthField) a.get()[1]).width())));
  }

  @ParameterizedTest(name = "{0} {1} = {2}")
  @MethodSource("overrunningLengths")
  void aLengthFieldThatOverrunsNeverYieldsAName(String source, Hellos.LengthField field, long value, byte[] message) {
    Buffer records = Hellos.records(field.with(message, value));

    Result result = assertDoesNotThrow(records, MAX);

    assertThat(result).isInstanceOfAny(NeedMore.class, Malformed.class);
  }

  @ParameterizedTest(name = "record length {0}")
  @MethodSource("recordLengths")
  void aRecordLengthThatOverrunsWaitsOrIsRefused(int length, Class<? extends Result> expected) {
    Buffer hello = Hellos.capture("openssl-tls13");
    hello.setUnsignedShort(3, length);

    assertThat(ClientHello.parse(hello, MAX)).isInstanceOf(expected);
  }

  static Stream<Arguments> recordLengths() {
    int real = Hellos.capture("openssl-tls13").length() - 5;
    return Stream.of(Arguments.of(real + 1, NeedMore.class), Arguments.of(16384, NeedMore.class),
        Arguments.of(16385, Malformed.class), Arguments.of(0xffff, Malformed.class), Arguments.of(0, Malformed.class));
  }

  /** Hand-made hostile inputs: name, bytes, what the parser must say, and words its reason must hold. */
  static Stream<Arguments> hostile() {
    byte[] sniExtension = Hellos.sni(NAME);
    byte[] groups = Hellos.extension(0x000a, HexFormat.of().parseHex("0004001d0017"));
    return Stream.of(
        Arguments.of("16 MiB claimed, 9 bytes sent", hex("1603010004" + "01ffffff"), Malformed.class, "larger than 16384"),
        Arguments.of("16 MiB claimed in a partial 16 KiB record", hex("1603014000" + "01ffffff"), Malformed.class, "larger than 16384"),
        Arguments.of("16 KiB + 1 claimed", hex("1603014000" + "01003ffd"), Malformed.class, "larger than 16384"),
        Arguments.of("record over 2^14", hex("1603014001" + "01"), Malformed.class, "exceeds 2^14"),
        Arguments.of("zero-length record", hex("1603010000"), Malformed.class, "zero-length"),
        Arguments.of("plain HTTP", ascii("GET / HTTP/1.1\r\nHost: web.demo.funnel.localhost\r\n\r\n"), NotTls.class, ""),
        Arguments.of("SSLv2-style hello", hex("802e0103010015000000100000040100800000050000"), NotTls.class, ""),
        Arguments.of("an alert record first", hex("15030300020228"), NotTls.class, ""),
        Arguments.of("one byte of noise", hex("00"), NotTls.class, ""),
        Arguments.of("not record version 3", hex("160203"), Malformed.class, "legacy_record_version"),
        Arguments.of("server_hello, not client_hello", hex("1603030004" + "02000000"), Malformed.class, "handshake type 2"),
        Arguments.of("application data inside the hello", Hellos.records(Hellos.helloWith(sniExtension), 20)
            .setUnsignedByte(25, (short) 23), Malformed.class, "content type 23"),
        Arguments.of("duplicate SNI extensions", Hellos.records(Hellos.helloWith(sniExtension, groups, sniExtension)),
            Malformed.class, "duplicate server_name extension"),
        Arguments.of("duplicate other extension", Hellos.records(Hellos.helloWith(groups, sniExtension, groups)),
            Malformed.class, "duplicate extension 0x000a"),
        Arguments.of("extension longer than the block", Hellos.records(Hellos.helloWith(sniExtension,
            HexFormat.of().parseHex("000a001000"))), Malformed.class, "reading extension 0x000a: truncated"),
        Arguments.of("SNI entry of type 1", Hellos.records(Hellos.helloWith(
            Hellos.extension(0, Hellos.serverNameList(1, NAME)))), Malformed.class, "name_type 1"),
        Arguments.of("host_name then type 1", Hellos.records(Hellos.helloWith(
            Hellos.extension(0, Hellos.serverNameList(0, NAME, 1, "x")))), Malformed.class, "name_type 1"),
        Arguments.of("two host_names", Hellos.records(Hellos.helloWith(
            Hellos.extension(0, Hellos.serverNameList(0, NAME, 0, "evil.demo.funnel.localhost")))),
            Malformed.class, "more than one host_name"),
        Arguments.of("SNI extension with no data", Hellos.records(Hellos.helloWith(Hellos.extension(0, new byte[0]))),
            Malformed.class, "reading server_name list length: truncated"),
        Arguments.of("SNI with an empty list", Hellos.records(Hellos.helloWith(Hellos.extension(0, Hellos.u16(0)))),
            Malformed.class, "empty list"),
        Arguments.of("SNI with an empty host_name", Hellos.records(Hellos.helloWith(
            Hellos.extension(0, Hellos.serverNameList(0, "")))), Malformed.class, "empty host_name"),
        Arguments.of("SNI list with trailing bytes", Hellos.records(Hellos.helloWith(Hellos.extension(0,
            Hellos.concat(Hellos.serverNameList(0, NAME), new byte[] {0})))), Malformed.class, "trailing"),
        Arguments.of("no extensions at all", Hellos.records(Hellos.noExtensionsBlock()), NoSni.class, ""),
        Arguments.of("extensions without SNI", Hellos.records(Hellos.helloWith(groups)), NoSni.class, ""),
        Arguments.of("an empty extensions block", Hellos.records(Hellos.helloWith()), NoSni.class, ""),
        Arguments.of("trailing bytes after extensions", Hellos.records(Hellos.concat(
            new Hellos.LengthField("handshake length", 1, 3).with(Hellos.helloWith(sniExtension),
                Hellos.helloWith(sniExtension).length - 4 + 1), new byte[] {0})), Malformed.class, "trailing bytes"),
        Arguments.of("session id of 33 bytes", Hellos.records(sessionId33()), Malformed.class, "legacy_session_id"),
        Arguments.of("odd cipher suites length", Hellos.records(
            new Hellos.LengthField("cs", 4 + 2 + 32 + 1, 2).with(Hellos.helloWith(sniExtension), 3)),
            Malformed.class, "cipher suites length 3"),
        Arguments.of("cipher suites overrun the message", Hellos.records(
            new Hellos.LengthField("cs", 4 + 2 + 32 + 1, 2).with(Hellos.helloWith(), 0xfffe)),
            Malformed.class, "reading cipher suites: truncated"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hostile")
  void refusesHostileInput(String name, Buffer bytes, Class<? extends Result> expected, String reason) {
    Result result = assertDoesNotThrow(bytes, MAX);

    assertThat(result).isInstanceOf(expected);
    if (result instanceof Malformed malformed) {
      assertThat(malformed.reason()).contains(reason);
    }
  }

  @Test
  void theLargeHelloIsPostQuantumSizedAndARealTlsServerAcceptsIt(@TempDir Path state) throws Exception {
    Buffer large = largeHello();
    assertThat(large.length()).isGreaterThanOrEqualTo(1536);

    // The JDK's TLS server reads the whole hello (every length checked its own way) and answers
    // with a ServerHello: the hand-made lengths are right.
    byte[] reply = serverFirstFlight(state, large);
    assertThat(reply[0]).isEqualTo((byte) 22);
    assertThat(reply[5]).as("handshake type ServerHello").isEqualTo((byte) 2);
  }

  @Test
  void aHelloLargerThanTheCapIsRefusedAsSoonAsItsLengthIsSeen() {
    Buffer large = largeHello();
    int cap = 1024;

    Result firstNineBytes = ClientHello.parse(large.getBuffer(0, 9), cap);

    assertThat(firstNineBytes).isInstanceOf(Malformed.class);
    assertThat(((Malformed) firstNineBytes).reason()).contains("ClientHello larger than 1024 bytes");
    assertThat(ClientHello.parse(large, Hellos.message(large).length)).isInstanceOf(Found.class);
  }

  @Test
  void aHelloSplitIntoTooManyTinyRecordsIsRefused() {
    byte[] message = Hellos.message(Hellos.capture("openssl-tls12"));
    int cap = message.length + 10;  // the message fits; six bytes of framing per byte of it do not

    Result result = ClientHello.parse(Hellos.records(message, 1), cap);

    assertThat(result).isInstanceOf(Malformed.class);
    assertThat(((Malformed) result).reason()).contains("records larger than");
  }

  @Test
  void bytesAfterTheHelloAreIgnored() {
    Buffer hello = Hellos.capture("openssl-tls13");
    Buffer withEarlyData = hello.copy().appendBuffer(hex("140303000101")).appendBuffer(hex("1703030005aabbccddee"));

    assertThat(ClientHello.parse(withEarlyData, MAX)).isEqualTo(ClientHello.parse(hello, MAX));
  }

  @Test
  void aHelloWithoutSniFromOpensslIsNoSni() {
    Buffer hello = Hellos.capture("openssl-tls13-nosni");

    assertThat(ClientHello.parse(hello, MAX)).usingRecursiveComparison().ignoringFields("protocols").isEqualTo(new NoSni(Hellos.message(hello).length));
  }

  @Test
  void theNameComesBackExactlyAsSent() {
    Buffer hello = Hellos.records(Hellos.helloWith(Hellos.sni("WEB.Demo.funnel.localhost.")));

    assertThat(ClientHello.parse(hello, MAX)).isInstanceOf(Found.class)
        .extracting(r -> ((Found) r).serverName()).isEqualTo("WEB.Demo.funnel.localhost.");
  }

  // --- helpers ----------------------------------------------------------------------------------

  /** Feeds {@code bytes} one at a time, parsing only when the parser said something could change. */
  static Result feedBytewise(Buffer bytes, int max) {
    Buffer so = Buffer.buffer();
    int next = 1;
    int parses = 0;
    for (int i = 0; i < bytes.length(); i++) {
      so.appendByte(bytes.getByte(i));
      if (so.length() < next) {
        continue;
      }
      Result result = ClientHello.parse(so, max);
      parses++;
      if (!(result instanceof NeedMore needMore)) {
        assertThat(i).as("decided before the last byte").isEqualTo(bytes.length() - 1);
        assertThat(parses).as("parses (the hint keeps them few)").isLessThan(bytes.length() / 5 + 20);
        return result;
      }
      next = needMore.atLeast();
    }
    throw new AssertionError("no decision after " + bytes.length() + " bytes");
  }

  static Result assertDoesNotThrow(Buffer bytes, int max) {
    Result[] out = new Result[1];
    assertThatCode(() -> out[0] = ClientHello.parse(bytes, max)).doesNotThrowAnyException();
    return out[0];
  }

  static byte[] sessionId33() {
    byte[] plain = Hellos.helloWith();
    byte[] body = Hellos.concat(java.util.Arrays.copyOfRange(plain, 4, 4 + 34), new byte[] {33}, new byte[33],
        java.util.Arrays.copyOfRange(plain, 4 + 35, plain.length));
    return Hellos.concat(new byte[] {1}, Hellos.u24(body.length), body);
  }

  static Buffer hex(String hex) {
    return Buffer.buffer(HexFormat.of().parseHex(hex));
  }

  static Buffer ascii(String s) {
    return Buffer.buffer(s.getBytes(StandardCharsets.US_ASCII));
  }

  /** What the JDK's TLS server writes after reading {@code hello} (its ServerHello flight). */
  static byte[] serverFirstFlight(Path state, Buffer hello) throws Exception {
    DevCa ca = DevCa.loadOrCreate(state);
    DevCa.KeyAndChain issued = ca.issue(List.of(NAME), Duration.ofDays(1));
    char[] password = "test".toCharArray();
    KeyStore keyStore = KeyStore.getInstance("PKCS12");
    keyStore.load(null, null);
    keyStore.setKeyEntry("node", DevCa.Pem.privateKey(issued.keyPem()), password,
        DevCa.Pem.certificates(issued.chainPem()).toArray(new X509Certificate[0]));
    KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keys.init(keyStore, password);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keys.getKeyManagers(), null, null);
    SSLEngine server = context.createSSLEngine();
    server.setUseClientMode(false);
    ByteBuffer in = ByteBuffer.wrap(hello.getBytes());
    ByteBuffer app = ByteBuffer.allocate(server.getSession().getApplicationBufferSize());
    SSLEngineResult read = server.unwrap(in, app);
    assertThat(read.getStatus()).isEqualTo(SSLEngineResult.Status.OK);
    Runnable task;
    while ((task = server.getDelegatedTask()) != null) {
      task.run();
    }
    assertThat(server.getHandshakeStatus()).isEqualTo(SSLEngineResult.HandshakeStatus.NEED_WRAP);
    ByteBuffer out = ByteBuffer.allocate(server.getSession().getPacketBufferSize());
    server.wrap(ByteBuffer.allocate(0), out);
    out.flip();
    byte[] bytes = new byte[out.remaining()];
    out.get(bytes);
    return bytes;
  }

  // --- ALPN (the node's tls-alpn-01 routing reads it) ------------------------------------------

  /** application_layer_protocol_negotiation extension data for these names. */
  private static byte[] alpn(String... names) {
    java.io.ByteArrayOutputStream list = new java.io.ByteArrayOutputStream();
    for (String name : names) {
      byte[] bytes = name.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
      list.write(bytes.length);
      list.writeBytes(bytes);
    }
    return Hellos.concat(Hellos.u16(list.size()), list.toByteArray());
  }

  static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> alpnTable() {
    return java.util.stream.Stream.of(
        org.junit.jupiter.params.provider.Arguments.of("acme-tls/1 only", Hellos.concat(Hellos.sni(NAME),
            Hellos.extension(16, alpn("acme-tls/1"))), java.util.List.of("acme-tls/1")),
        org.junit.jupiter.params.provider.Arguments.of("browser order", Hellos.concat(Hellos.extension(16,
            alpn("h2", "http/1.1")), Hellos.sni(NAME)), java.util.List.of("h2", "http/1.1")),
        org.junit.jupiter.params.provider.Arguments.of("no ALPN", Hellos.sni(NAME), java.util.List.of()),
        org.junit.jupiter.params.provider.Arguments.of("ALPN without SNI", Hellos.extension(16, alpn("acme-tls/1")),
            java.util.List.of("acme-tls/1")));
  }

  @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.MethodSource("alpnTable")
  void readsTheAlpnProtocolsOffered(String what, byte[] extensions, java.util.List<String> expected) {
    Result result = ClientHello.parse(Hellos.records(Hellos.helloWith(extensions)), MAX);
    java.util.List<String> protocols = result instanceof Found found ? found.protocols()
        : ((NoSni) result).protocols();
    assertThat(protocols).isEqualTo(expected);
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"", "00", "0000", "000100", "000502h2"})
  void aMalformedAlpnExtensionIsRefused(String hexData) {
    byte[] data = hexData.equals("000502h2") ? Hellos.concat(Hellos.u16(5), new byte[] {2, 'h', '2'})
        : java.util.HexFormat.of().parseHex(hexData);
    Result result = ClientHello.parse(Hellos.records(Hellos.helloWith(Hellos.concat(Hellos.sni(NAME),
        Hellos.extension(16, data)))), MAX);
    assertThat(result).isInstanceOf(Malformed.class);
    assertThat(((Malformed) result).reason()).contains("ALPN");
  }

  @Test
  void curlOffersH2AndHttp11() {
    Result result = ClientHello.parse(Hellos.capture("curl-tls13"), MAX);
    assertThat(((Found) result).protocols()).containsExactly("h2", "http/1.1");
  }
}
