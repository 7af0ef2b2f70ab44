package dev.funnel.common.peerapi;

import dev.funnel.common.bus.OpenFailure;
import dev.funnel.common.bus.OpenRequest;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.Optional;

/**
 * A frontend's open on a gateway's link (frontend ⇄ gateway, across processes): one HTTP/2 stream
 * whose request names the node, the session's epoch, the target and the public client's address.
 *
 * <pre>
 * :method POST   :path /v0/open   :scheme https   :authority gateway
 * funnel-node: n-1234   funnel-epoch: 17   funnel-frontend: fe-ab12cd34
 * funnel-ingress-src: 203.0.113.7:53211   funnel-ingress-target: web.demo.funnel.example:443
 * </pre>
 *
 * The gateway opens the node's stream ({@link IngressOffer}) and answers {@code 200} (then the
 * stream carries the client's bytes, spliced by the gateway to the node's), or a refusal: status
 * {@code 503} with {@link #FAILURE_HEADER} naming the {@link OpenFailure} and a reason. Pure.
 */
public final class OpenStream {

  public static final String PATH = "/v0/open";
  public static final String NODE_HEADER = "funnel-node";
  public static final String EPOCH_HEADER = "funnel-epoch";
  public static final String FRONTEND_HEADER = "funnel-frontend";
  public static final String FAILURE_HEADER = "funnel-open-failure";

  private OpenStream() {
  }

  public static Http2Headers toHeaders(OpenRequest request) {
    return new DefaultHttp2Headers()
        .method("POST").path(PATH).scheme("https").authority("gateway")
        .add(NODE_HEADER, request.nodeId())
        .add(EPOCH_HEADER, Long.toString(request.epoch()))
        .add(FRONTEND_HEADER, request.frontendId() == null ? "" : request.frontendId())
        .add(IngressOffer.SRC_HEADER, request.clientAddress())
        .add(IngressOffer.TARGET_HEADER, request.targetHost() + ":" + request.targetPort());
  }

  /** The open a stream's request headers ask for, or empty when they are not a well-formed open. */
  public static Optional<OpenRequest> parse(Http2Headers headers) {
    if (!"POST".contentEquals(orEmpty(headers.method())) || !PATH.contentEquals(orEmpty(headers.path()))) {
      return Optional.empty();
    }
    CharSequence node = headers.get(NODE_HEADER);
    CharSequence epoch = headers.get(EPOCH_HEADER);
    CharSequence src = headers.get(IngressOffer.SRC_HEADER);
    CharSequence target = headers.get(IngressOffer.TARGET_HEADER);
    if (node == null || epoch == null || src == null || target == null) {
      return Optional.empty();
    }
    try {
      var hostPort = dev.funnel.common.net.HostPort.parse(target.toString());
      CharSequence frontend = headers.get(FRONTEND_HEADER);
      return Optional.of(new OpenRequest(node.toString(), Long.parseLong(epoch.toString()), hostPort.host(),
          hostPort.port(), src.toString(), frontend == null ? "" : frontend.toString()));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** The answer to a refused open. */
  public static Http2Headers refusal(OpenFailure failure, String reason) {
    return IngressAnswer.refuse(IngressAnswer.UNAVAILABLE, reason).add(FAILURE_HEADER, failure.name());
  }

  /** The failure a refusal names; empty when it names none (then the gateway itself failed). */
  public static Optional<OpenFailure> failure(Http2Headers headers) {
    CharSequence name = headers.get(FAILURE_HEADER);
    if (name == null) {
      return Optional.empty();
    }
    for (OpenFailure f : OpenFailure.values()) {
      if (f.name().contentEquals(name)) {
        return Optional.of(f);
      }
    }
    return Optional.empty();
  }

  private static CharSequence orEmpty(CharSequence value) {
    return value == null ? "" : value;
  }
}
