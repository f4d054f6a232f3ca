/** A posterior asked for something it cannot give (a missing curvature, a bad N or τ, an unknown option): one sentence. */
export class PosteriorError extends Error {
  override name = 'PosteriorError';
}

/** A structure asked of a network too large for it (full beyond its parameter limit): one sentence with the limit and the alternatives. */
export class TooManyParametersError extends PosteriorError {
  override name = 'TooManyParametersError';
}

/** A prior the structure cannot represent exactly (a per-parameter τ on kfac or efb): one sentence with the alternatives. */
export class PriorPrecisionError extends PosteriorError {
  override name = 'PriorPrecisionError';
}
