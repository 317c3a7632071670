//! Letterboxing a frame to the model's input: aspect kept, centred on grey, planar RGB in
//! [0, 1] (`fast_image_resize`).

use fast_image_resize as fir;
use image::{DynamicImage, RgbImage};

use super::{PreparedFrame, pose_failed};
use crate::types::error::AppError;

/// Grey used for the letterbox padding.
pub const PAD_VALUE: u8 = 114;

/// Resizes `image` to fit `width × height` keeping its aspect ratio, centres it on a grey
/// (114) canvas, and lays it out as planar RGB floats in [0, 1].
pub fn letterbox(image: &DynamicImage, width: u32, height: u32) -> Result<PreparedFrame, AppError> {
    let rgb: RgbImage = image.to_rgb8();
    let (source_width, source_height) = rgb.dimensions();
    if source_width == 0 || source_height == 0 {
        return Err(pose_failed("the image is empty".to_string()));
    }
    let (scale, new_width, new_height) = fit(source_width, source_height, width, height);
    let source = fir::images::Image::from_vec_u8(
        source_width,
        source_height,
        rgb.into_raw(),
        fir::PixelType::U8x3,
    )
    .map_err(|error| pose_failed(format!("cannot read the image for resizing: {error}")))?;
    let mut resized = fir::images::Image::new(new_width, new_height, fir::PixelType::U8x3);
    fir::Resizer::new()
        .resize(
            &source,
            &mut resized,
            &fir::ResizeOptions::new()
                .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Bilinear)),
        )
        .map_err(|error| pose_failed(format!("cannot resize the image: {error}")))?;
    Ok(centred(
        resized.buffer(),
        (new_width, new_height),
        (source_width, source_height),
        scale,
        (width, height),
    ))
}

/// The scale and the size, `width × height` at most, of a `source_width × source_height`
/// image letterboxed (aspect kept, rounded to whole pixels).
pub fn fit(source_width: u32, source_height: u32, width: u32, height: u32) -> (f64, u32, u32) {
    let scale = (f64::from(width) / f64::from(source_width.max(1)))
        .min(f64::from(height) / f64::from(source_height.max(1)));
    let new_width = ((f64::from(source_width) * scale).round() as u32).clamp(1, width);
    let new_height = ((f64::from(source_height) * scale).round() as u32).clamp(1, height);
    (scale, new_width, new_height)
}

/// A frame already resized to `resized` (packed RGB, as [`fit`] sizes it) centred on the grey
/// `model` canvas as planar RGB floats in [0, 1]; `source` is the size it was resized from.
pub fn centred(
    pixels: &[u8],
    resized: (u32, u32),
    source: (u32, u32),
    scale: f64,
    model: (u32, u32),
) -> PreparedFrame {
    let ((new_width, new_height), (width, height)) = (resized, model);
    let pad_x = (width - new_width) / 2;
    let pad_y = (height - new_height) / 2;
    let plane = (width * height) as usize;
    let pad = f32::from(PAD_VALUE) / 255.0;
    let mut input = vec![pad; plane * 3];
    let row_bytes = new_width as usize * 3;
    for y in 0..new_height as usize {
        let row = &pixels[y * row_bytes..(y + 1) * row_bytes];
        let base = (y + pad_y as usize) * width as usize + pad_x as usize;
        for (x, rgb) in row.chunks_exact(3).enumerate() {
            for (channel, value) in rgb.iter().enumerate() {
                input[channel * plane + base + x] = f32::from(*value) / 255.0;
            }
        }
    }
    PreparedFrame {
        width: source.0,
        height: source.1,
        scale,
        pad_x: f64::from(pad_x),
        pad_y: f64::from(pad_y),
        input,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letterbox_keeps_aspect_and_centres() {
        let image =
            DynamicImage::ImageRgb8(RgbImage::from_pixel(200, 100, image::Rgb([255, 0, 0])));
        let frame = letterbox(&image, 64, 64).expect("letterbox");
        assert_eq!((frame.width, frame.height), (200, 100));
        assert!((frame.scale - 0.32).abs() < 1e-9);
        assert_eq!((frame.pad_x, frame.pad_y), (0.0, 16.0));
        let plane = 64 * 64;
        // Top padding is grey, the centre is red.
        assert!((frame.input[0] - 114.0 / 255.0).abs() < 1e-6);
        let centre = 32 * 64 + 32;
        assert!((frame.input[centre] - 1.0).abs() < 1e-6);
        assert!(frame.input[plane + centre].abs() < 1e-6);
        assert_eq!(frame.input.len(), 3 * plane);
    }
}
