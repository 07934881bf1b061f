"""The latent diffusion model: bar autoencoder, linear-attention denoiser, sampling, composer."""
