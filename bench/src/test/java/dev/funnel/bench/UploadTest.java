package dev.funnel.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class UploadTest {

  @Test
  void aCompleteUploadOverTheAskedVersionGivesCurlsTime() throws IOException {
    assertThat(Upload.parse("2 200000000 1.234567", "2")).isEqualTo(1.234567);
    assertThat(Upload.parse("1.1 200000000 0.5", "1.1")).isEqualTo(0.5);
  }

  @Test
  void aShortUploadOrAnotherVersionIsAnError() {
    assertThatThrownBy(() -> Upload.parse("2 199999999 1.0", "2")).isInstanceOf(IOException.class)
        .hasMessageContaining("did not complete");
    // curl fell back to HTTP/1.1 (no h2 in ALPN): not an HTTP/2 figure.
    assertThatThrownBy(() -> Upload.parse("1.1 200000000 1.0", "2")).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> Upload.parse("", "2")).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> Upload.parse("2 lots 1.0", "2")).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> Upload.parse("2 200000000 soon", "2")).isInstanceOf(IOException.class);
  }

  @Test
  void theRatioIsHttp2sTimeOverHttp1sAndTheTargetIsMetAtOrBelowOneAndAQuarter() {
    assertThat(Stats.shownRatio(2.5, 1.0)).isEqualTo(2.5);
    assertThat(Stats.shownRatio(1.0, 0.0)).isNull();
    for (double[] c : new double[][] {{1.25, 1}, {3.0, 0}}) {
      JsonObject https = new JsonObject().putNull("nginx_rps").putNull("funnel_terminator_rps")
          .put("funnel_terminator_upload_http2_over_http1", c[0]);
      JsonObject upload = Report.targets(new JsonObject(), https).stream().map(JsonObject.class::cast)
          .filter(t -> t.getString("target").contains("upload")).findFirst().orElseThrow();
      assertThat(upload.getDouble("value")).isEqualTo(c[0]);
      assertThat(upload.getBoolean("met")).isEqualTo(c[1] == 1);
    }
  }
}
