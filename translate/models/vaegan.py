"""VAE-GAN (Larsen et al. 2016, arXiv:1512.09300): a VAE whose decoder is a GAN's generator, with the reconstruction
error measured on a hidden layer of the discriminator instead of on pixels."""

from collections.abc import Sequence

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor, nn

from translate import losses
from translate.models.contract import ReconstructsImages
from translate.models.noise import DCGAN_ADAM, NoiseGAN, NoiseGeneratorFactory
from translate.networks import DiscriminatorFactory


class VAEGAN(NoiseGAN, ReconstructsImages):
    """Encoder ``enc`` (a discriminator-shaped trunk and a head giving mu and log sigma^2), decoder ``gen``, and
    discriminator ``disc``, each trained on its own objective (Sec. 2.2, Alg. 1), with x~ = Dec(Enc(x)), x_p = Dec(z),
    z ~ N(0, I) and Dis_l = ``disc.forward_features``:

        L_Enc = lambda_kl L_prior + L_llike          L_prior = KL(q(z | x) || N(0, I))
        L_Dec = gamma L_llike + L_G(x~) + L_G(x_p)   L_llike = 1/2 mean (Dis_l(x~) - Dis_l(x))^2
        L_Dis = L_D(x; x~ and x_p)

    L_G and L_D are ``loss``'s two sides (the paper's log-likelihood GAN; the decoder's non-saturating by default).
    The decoder adds its terms for the two kinds of fake, as the paper's L_GAN = log Dis(x) + log(1 - Dis(Dec(z))) +
    log(1 - Dis(Dec(Enc(x)))) and the authors' code (the decoder's gradient sums over every fake) do, so gamma weighs
    L_llike against both. D weighs real and fake images equally, its fake term a mean over x~ and x_p, as the
    authors' code does (``real_vs_gen_weight`` 0.5, each fake weighted by batch / fakes) where the paper's sum would
    weigh the fakes twice: what matters to D is that ratio, the scale of its loss hardly (Adam). L_llike is a
    mean over D's features and L_prior a mean over the latent dimensions, both on the GAN loss's scale; the paper
    weighs them with gamma (and its own sums). The authors' code sums both in L_Enc, so with these means
    ``lambda_kl`` = latent_dim / (Dis_l's features) keeps the paper's balance; 1 weighs the prior that many times
    more, and the encoder's posterior stays close to N(0, I) (docs/models.md, the VAE-GAN quick start).

    Args:
        encoder: Builds the encoder's trunk from the image channels (any Discriminator: its ``forward_features``).
        lambda_kl: Weight of L_prior in L_Enc (the paper's balance: latent_dim / Dis_l's features).
        gamma: Weight of L_llike against L_GAN in L_Dec (the paper's gamma).
    """

    def __init__(
        self,
        generator: NoiseGeneratorFactory,
        discriminator: DiscriminatorFactory,
        encoder: DiscriminatorFactory,
        optimizer: OptimizerCallable = DCGAN_ADAM,
        *,
        latent_dim: int = 100,
        channels: int = 3,
        lambda_kl: float = 1.0,
        gamma: float = 1.0,
        **options,
    ):
        if options.get("n_critic", 1) != 1 or options.get("feature_matching") or options.get("clip") is not None:
            raise ValueError("VAE-GAN steps its three networks once a batch on their own objectives: leave out "
                             "n_critic, clip and feature_matching")  # fmt: skip
        if options.get("loss") in ("wgan", "wgangp") or options.get("critic_schedule", "fixed") != "fixed":
            # its own training step has no critic loop, weight clipping or gradient penalty: refuse, don't ignore
            raise ValueError("VAE-GAN trains with the GAN losses that need no critic schedule or penalty: leave out "
                             "critic_schedule and set loss to minimax, nonsaturating, lsgan or hinge")  # fmt: skip
        super().__init__(generator, discriminator, optimizer, latent_dim=latent_dim, channels=channels, **options)
        self.enc = encoder(channels)
        with torch.no_grad():  # the head reads a 4x4 map, as D's: the encoder must be built for the same image size
            side = self.enc.eval().forward_features(torch.zeros(2, channels, self.image_size, self.image_size)).shape
        self.enc.train()
        if tuple(side[-2:]) != (4, 4):
            raise ValueError(f"the encoder gives {tuple(side[-2:])} features for {self.image_size} px images: set its "
                             f"image_size to the generator's ({self.image_size})")  # fmt: skip
        self.enc_head = nn.Conv2d(self.enc.num_features, 2 * latent_dim, 4)

    def encode(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """(mu, log sigma^2), each (B, latent_dim)."""
        return self.enc_head(self.enc.forward_features(images)).flatten(1).chunk(2, dim=1)

    @torch.no_grad()
    def reconstruct(self, images: Tensor) -> Tensor:
        return self.sampler(self.encode(images)[0])

    @torch.no_grad()
    def sample_columns(self, batch: Sequence[Tensor]) -> dict[str, Tensor]:
        """A training image, its reconstruction, then samples of fixed noise, per row."""
        samples = list(self.grid_columns(len(batch[0])).items())[:6]
        return {"real": batch[0], "reconstruction": self.reconstruct(batch[0]), **dict(samples)}

    def training_step(self, batch: Sequence[Tensor], batch_idx: int) -> None:
        real = batch[0]
        opt_enc, opt_dec, opt_dis = self.optimizers()
        mu, logvar = self.encode(real)
        # the reparameterisation trick; eps drawn in fp32, as fp32 training draws it, whatever the precision
        z = mu + torch.randn(mu.shape, dtype=torch.float32).to(mu.device, self.dtype) * (0.5 * logvar).exp()
        rebuilt, sampled = self.gen(z), self.gen(self.noise(len(real)))
        fakes = torch.cat([rebuilt, sampled])
        with self.toggled_optimizer(opt_dis):
            real_out, fake_out = self.disc(real), self.disc(fakes.detach())
            loss_dis = self.adversarial_losses(real_out, fake_out)
            self._step(opt_dis, loss_dis)
        llike = self.feature_error(real, rebuilt)  # only Enc and Dec take gradients of what follows
        prior = losses.kl_normal_loss(mu, logvar) / self.latent_dim
        rebuilt_out, sampled_out = self.disc(fakes).chunk(2)  # one batch through D, as in D's step
        gan = self.adversarial_generator_loss(rebuilt_out) + self.adversarial_generator_loss(sampled_out)
        # Enc first: its backward runs through Dec's weights, which must not have moved yet (_step_apart)
        self._step_apart({opt_enc: self.hparams.lambda_kl * prior + llike, opt_dec: self.hparams.gamma * llike + gan})
        if self.ema_gen is not None:
            self.ema_gen.update_parameters(self.gen)
        self.log_dict({"train/enc/prior": prior, "train/enc/llike": llike, "train/dec/adv": gan,
                       "train/dis/adv": loss_dis})  # fmt: skip
        self.log("train/dec/total", self.hparams.gamma * llike + gan, prog_bar=True)

    def feature_error(self, real: Tensor, rebuilt: Tensor) -> Tensor:
        """L_llike = 1/2 mean (Dis_l(x~) - Dis_l(x))^2, Dis_l(x) a fixed target. x and x~ go through D in one batch:
        with batch norm in D, two passes would normalise each by its own batch's statistics, which hides an error
        common to all reconstructions (a washed-out colour, a grey background) from the loss."""
        features = self.disc.forward_features(torch.cat([real, rebuilt])).float()
        target, rebuilt_features = features[: len(real)].detach(), features[len(real) :]
        return 0.5 * (rebuilt_features - target).square().mean()

    def _step_apart(self, objectives: dict) -> None:
        """Step each optimizer on the gradient of its own objective only (the paper's separate updates): L_llike
        reaches both Enc and Dec, but Enc's step takes none of L_GAN and Dec's none of L_prior.

        Each objective goes through ``manual_backward`` (which scales it under fp16's GradScaler, so that the step's
        unscaling is right) with ``inputs`` its optimizer's parameters alone, and its step follows before the next
        backward, with the scale that backward used. The order matters: Enc's backward runs through Dec's weights,
        so Enc steps first; Dec's backward never reaches Enc's weights, which have moved by then.
        """
        for optimizer, loss in objectives.items():
            params = [p for group in optimizer.param_groups for p in group["params"]]
            optimizer.zero_grad(set_to_none=True)
            self.manual_backward(loss, inputs=params, retain_graph=True)
            optimizer.step()

    def configure_optimizers(self):
        encoder = [*self.enc.parameters(), *self.enc_head.parameters()]
        return [self.optimizer(encoder), self.optimizer(self.gen.parameters()), self.optimizer(self.disc.parameters())]
