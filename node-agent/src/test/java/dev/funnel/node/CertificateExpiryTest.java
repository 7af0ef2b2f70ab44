package dev.funnel.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

/** {@link CertificateExpiry#update}: the gateways are told again only when the value changes. */
class CertificateExpiryTest {

  @Test
  void onlyAChangedValueIsToBeToldNow() {
    CertificateExpiry expiry = new CertificateExpiry();
    Instant first = Instant.parse("2027-03-01T00:00:00Z");
    assertThat(expiry.update(first)).hasValue(first.getEpochSecond());
    assertThat(expiry.update(first)).isEmpty();
    assertThat(expiry.update(first.plusMillis(400))).as("same second").isEmpty();
    Instant renewed = first.plusSeconds(90L * 86_400);
    assertThat(expiry.update(renewed)).hasValue(renewed.getEpochSecond());
    assertThat(expiry.update(first)).as("back to the old file").hasValue(first.getEpochSecond());
  }
}
