/** A posterior asked for something it cannot give (a missing curvature, a bad N or τ, an unknown option): one sentence. */
export class PosteriorError extends Error {
  override name = 'PosteriorError';
}
