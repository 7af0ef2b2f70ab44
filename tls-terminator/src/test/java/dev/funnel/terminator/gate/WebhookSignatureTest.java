package dev.funnel.terminator.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.MultiMap;
import java.nio.charset.StandardCharsets;
import dev.funnel.common.serve.GatePolicy;
import java.util.HexFormat;
import java.util.stream.Stream;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Deliveries built as the senders' documentation describes. The published vectors (GitHub's
 * "Hello, World!" and Slack's slash-command example) pin the exact strings signed; RFC 4231 pins
 * the HMAC; the Stripe literal was computed with {@code openssl dgst -sha256 -hmac}.
 */
class WebhookSignatureTest {

  // docs.github.com, "Validating webhook deliveries", "Testing the webhook payload validation"
  static final String GITHUB_SECRET = "It's a Secret to Everybody";
  static final String GITHUB_BODY = "Hello, World!";
  static final String GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

  // api.slack.com, "Verifying requests from Slack", the worked example
  static final String SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
  static final long SLACK_TS = 1531420618L;
  static final String SLACK_BODY = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
      + "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
      + "&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J"
      + "%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
  static final String SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

  // Stripe: "t=…,v1=…", v1 = HMAC-SHA256(secret, t + "." + body); computed with openssl for this test
  static final String STRIPE_SECRET = "whsec_test_secret";
  static final long STRIPE_TS = 1700000000L;
  static final String STRIPE_BODY = "{\"id\":\"evt_test_webhook\",\"object\":\"event\"}";
  static final String STRIPE_V1 = "d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990";

  static final WebhookSignature GITHUB = new WebhookSignature.Github(WebhookSignature.Key.of(GITHUB_SECRET));
  static final WebhookSignature SLACK = new WebhookSignature.Slack(WebhookSignature.Key.of(SLACK_SECRET));
  static final WebhookSignature STRIPE = new WebhookSignature.Stripe(WebhookSignature.Key.of(STRIPE_SECRET), 300);
  static final WebhookSignature GENERIC = new WebhookSignature.HmacHeader("X-Signature",
      WebhookSignature.Key.of(GITHUB_SECRET));

  static MultiMap headers(String... nameValues) {
    MultiMap headers = MultiMap.caseInsensitiveMultiMap();
    for (int i = 0; i < nameValues.length; i += 2) {
      headers.add(nameValues[i], nameValues[i + 1]);
    }
    return headers;
  }

  static Stream<Arguments> deliveries() {
    String stripeHeader = "t=" + STRIPE_TS + ",v1=" + STRIPE_V1;
    String wrongHex = "0".repeat(64);
    return Stream.of(
        // GitHub
        Arguments.of("github: docs vector", GITHUB, headers("X-Hub-Signature-256", GITHUB_SIGNATURE), GITHUB_BODY,
            0L, WebhookSignature.Check.ALLOWED),
        Arguments.of("github: header name in any case", GITHUB, headers("x-hub-signature-256", GITHUB_SIGNATURE),
            GITHUB_BODY, 0L, WebhookSignature.Check.ALLOWED),
        Arguments.of("github: upper-case hex", GITHUB, headers("X-Hub-Signature-256",
            "sha256=" + GITHUB_SIGNATURE.substring(7).toUpperCase()), GITHUB_BODY, 0L, WebhookSignature.Check.ALLOWED),
        Arguments.of("github: tampered body", GITHUB, headers("X-Hub-Signature-256", GITHUB_SIGNATURE),
            "Hello, World?", 0L, WebhookSignature.Check.BAD),
        Arguments.of("github: body with a trailing newline", GITHUB, headers("X-Hub-Signature-256", GITHUB_SIGNATURE),
            GITHUB_BODY + "\n", 0L, WebhookSignature.Check.BAD),
        Arguments.of("github: wrong secret", new WebhookSignature.Github(WebhookSignature.Key.of("It's a Secret")),
            headers("X-Hub-Signature-256", GITHUB_SIGNATURE), GITHUB_BODY, 0L, WebhookSignature.Check.BAD),
        Arguments.of("github: no header", GITHUB, headers("X-Hub-Signature", "sha1=abc"), GITHUB_BODY, 0L,
            WebhookSignature.Check.MISSING),
        Arguments.of("github: sha1 scheme", GITHUB, headers("X-Hub-Signature-256", "sha1=" + GITHUB_SIGNATURE.substring(7)),
            GITHUB_BODY, 0L, WebhookSignature.Check.MALFORMED),
        Arguments.of("github: truncated", GITHUB, headers("X-Hub-Signature-256", GITHUB_SIGNATURE.substring(0, 70)),
            GITHUB_BODY, 0L, WebhookSignature.Check.MALFORMED),
        Arguments.of("github: two headers", GITHUB, headers("X-Hub-Signature-256", GITHUB_SIGNATURE,
            "X-Hub-Signature-256", GITHUB_SIGNATURE), GITHUB_BODY, 0L, WebhookSignature.Check.MALFORMED),
        // Slack
        Arguments.of("slack: docs vector", SLACK, headers("X-Slack-Signature", SLACK_SIGNATURE,
            "X-Slack-Request-Timestamp", Long.toString(SLACK_TS)), SLACK_BODY, SLACK_TS + 10, WebhookSignature.Check.ALLOWED),
        Arguments.of("slack: 300 s old still fine", SLACK, headers("X-Slack-Signature", SLACK_SIGNATURE,
            "X-Slack-Request-Timestamp", Long.toString(SLACK_TS)), SLACK_BODY, SLACK_TS + 300, WebhookSignature.Check.ALLOWED),
        Arguments.of("slack: stale (5 min 1 s)", SLACK, headers("X-Slack-Signature", SLACK_SIGNATURE,
            "X-Slack-Request-Timestamp", Long.toString(SLACK_TS)), SLACK_BODY, SLACK_TS + 301, WebhookSignature.Check.STALE),
        Arguments.of("slack: from the future", SLACK, headers("X-Slack-Signature", SLACK_SIGNATURE,
            "X-Slack-Request-Timestamp", Long.toString(SLACK_TS)), SLACK_BODY, SLACK_TS - 301, WebhookSignature.Check.STALE),
        Arguments.of("slack: timestamp changed", SLACK, headers("X-Slack-Signature", SLACK_SIGNATURE,
            "X-Slack-Request-Timestamp", Long.toString(SLACK_TS + 1)), SLACK_BODY, SLACK_TS, WebhookSignature.Check.BAD),
        Arguments.of("slack: tampered body", SLACK, headers("X-Slack-Signature", SLACK_SIGNATURE,
            "X-Slack-Request-Timestamp", Long.toString(SLACK_TS)), SLACK_BODY.replace("foobar", "foobaz"), SLACK_TS,
            WebhookSignature.Check.BAD),
        Arguments.of("slack: no timestamp", SLACK, headers("X-Slack-Signature", SLACK_SIGNATURE), SLACK_BODY, SLACK_TS,
            WebhookSignature.Check.MISSING),
        Arguments.of("slack: timestamp not a number", SLACK, headers("X-Slack-Signature", SLACK_SIGNATURE,
            "X-Slack-Request-Timestamp", "yesterday"), SLACK_BODY, SLACK_TS, WebhookSignature.Check.MALFORMED),
        Arguments.of("slack: v1 scheme", SLACK, headers("X-Slack-Signature", "v1=" + SLACK_SIGNATURE.substring(3),
            "X-Slack-Request-Timestamp", Long.toString(SLACK_TS)), SLACK_BODY, SLACK_TS, WebhookSignature.Check.MALFORMED),
        // Stripe
        Arguments.of("stripe: signed now", STRIPE, headers("Stripe-Signature", stripeHeader), STRIPE_BODY, STRIPE_TS,
            WebhookSignature.Check.ALLOWED),
        Arguments.of("stripe: with a v0 and a second, stale v1 (secret roll)", STRIPE, headers("Stripe-Signature",
            "t=" + STRIPE_TS + ",v1=" + wrongHex + ",v1=" + STRIPE_V1 + ",v0=" + wrongHex), STRIPE_BODY,
            STRIPE_TS + 299, WebhookSignature.Check.ALLOWED),
        Arguments.of("stripe: only v0", STRIPE, headers("Stripe-Signature", "t=" + STRIPE_TS + ",v0=" + STRIPE_V1),
            STRIPE_BODY, STRIPE_TS, WebhookSignature.Check.MALFORMED),
        Arguments.of("stripe: stale", STRIPE, headers("Stripe-Signature", stripeHeader), STRIPE_BODY, STRIPE_TS + 301,
            WebhookSignature.Check.STALE),
        Arguments.of("stripe: tampered body", STRIPE, headers("Stripe-Signature", stripeHeader),
            STRIPE_BODY.replace("event", "Event"), STRIPE_TS, WebhookSignature.Check.BAD),
        Arguments.of("stripe: t moved to a fresh time", STRIPE, headers("Stripe-Signature",
            "t=" + (STRIPE_TS + 1000) + ",v1=" + STRIPE_V1), STRIPE_BODY, STRIPE_TS + 1000, WebhookSignature.Check.BAD),
        Arguments.of("stripe: wrong secret", new WebhookSignature.Stripe(WebhookSignature.Key.of("whsec_other"), 300),
            headers("Stripe-Signature", stripeHeader), STRIPE_BODY, STRIPE_TS, WebhookSignature.Check.BAD),
        Arguments.of("stripe: no t", STRIPE, headers("Stripe-Signature", "v1=" + STRIPE_V1), STRIPE_BODY, STRIPE_TS,
            WebhookSignature.Check.MALFORMED),
        Arguments.of("stripe: garbage", STRIPE, headers("Stripe-Signature", "nonsense"), STRIPE_BODY, STRIPE_TS,
            WebhookSignature.Check.MALFORMED),
        Arguments.of("stripe: missing", STRIPE, headers(), STRIPE_BODY, STRIPE_TS, WebhookSignature.Check.MISSING),
        // generic
        Arguments.of("hmac-sha256: hex", GENERIC, headers("X-Signature", GITHUB_SIGNATURE.substring(7)), GITHUB_BODY,
            0L, WebhookSignature.Check.ALLOWED),
        Arguments.of("hmac-sha256: sha256= hex", GENERIC, headers("X-Signature", GITHUB_SIGNATURE), GITHUB_BODY, 0L,
            WebhookSignature.Check.ALLOWED),
        Arguments.of("hmac-sha256: base64", GENERIC, headers("X-Signature", java.util.Base64.getEncoder().encodeToString(
            HexFormat.of().parseHex(GITHUB_SIGNATURE.substring(7)))), GITHUB_BODY, 0L, WebhookSignature.Check.ALLOWED),
        Arguments.of("hmac-sha256: tampered", GENERIC, headers("X-Signature", GITHUB_SIGNATURE), "Hello, World", 0L,
            WebhookSignature.Check.BAD),
        Arguments.of("hmac-sha256: other header", GENERIC, headers("X-Hub-Signature-256", GITHUB_SIGNATURE),
            GITHUB_BODY, 0L, WebhookSignature.Check.MISSING),
        Arguments.of("hmac-sha256: junk", GENERIC, headers("X-Signature", "zz"), GITHUB_BODY, 0L,
            WebhookSignature.Check.MALFORMED));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("deliveries")
  void checksDeliveries(String name, WebhookSignature signature, MultiMap headers, String body, long now,
                        String expected) {
    WebhookSignature.Check check = signature.check(headers, body.getBytes(StandardCharsets.UTF_8), now);
    assertThat(check.outcome()).as(check.reason()).isEqualTo(expected);
    assertThat(check.passed()).isEqualTo(expected.equals(WebhookSignature.Check.ALLOWED));
    assertThat(check.reason()).doesNotContain(GITHUB_SECRET, SLACK_SECRET, STRIPE_SECRET);
  }

  @Test
  void hmacMatchesRfc4231TestCase2() {
    assertThat(HexFormat.of().formatHex(WebhookSignature.Key.of("Jefe").hmac(
        "what do ya want ".getBytes(StandardCharsets.US_ASCII), "for nothing?".getBytes(StandardCharsets.US_ASCII))))
        .isEqualTo("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  }

  @Test
  void stripeLiteralAgreesWithTheDocumentedConstruction() throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(STRIPE_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    String signedPayload = STRIPE_TS + "." + STRIPE_BODY;
    assertThat(HexFormat.of().formatHex(mac.doFinal(signedPayload.getBytes(StandardCharsets.UTF_8))))
        .isEqualTo(STRIPE_V1);
  }

  @Test
  void verifyValuesBuildTheirChecks() {
    GatePolicy.Verify github = GatePolicy.Verify.parse("github:gh.secret");
    // the secret file's trailing newline (echo, editors) is not part of the secret
    WebhookSignature check = WebhookSignature.of(github, (GITHUB_SECRET + "\n").getBytes(StandardCharsets.UTF_8));
    assertThat(check.check(headers("X-Hub-Signature-256", GITHUB_SIGNATURE),
        GITHUB_BODY.getBytes(StandardCharsets.UTF_8), 0).passed()).isTrue();
    assertThat(WebhookSignature.of(GatePolicy.Verify.parse("slack:s"), "x".getBytes()))
        .isInstanceOf(WebhookSignature.Slack.class);
    assertThat(WebhookSignature.of(GatePolicy.Verify.parse("stripe:s"), "x".getBytes()))
        .hasToString("Stripe[key=Key[redacted], toleranceSeconds=300]");
    assertThat(((WebhookSignature.HmacHeader) WebhookSignature.of(GatePolicy.Verify.parse("hmac-sha256:X-Signature:s"),
        "x".getBytes())).header()).isEqualTo("X-Signature");
    assertThatThrownBy(() -> WebhookSignature.of(github, " \n".getBytes())).hasMessageContaining("is empty")
        .hasMessageContaining("gh.secret");
  }
}
